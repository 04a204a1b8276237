"""The embedded default's channel layer.

Channels' in-memory layer keeps asyncio queues that belong to the server's
event loop. The in-process worker sends from its own thread (through
``async_to_sync``, in a loop of its own), and an asyncio queue filled from
another thread does not wake the loop waiting on it: an event would sit there
until something else woke the server. Here a send from another loop is
handed to the receiving loop, which wakes at once.
"""

from __future__ import annotations

import asyncio

from channels.layers import InMemoryChannelLayer


class ThreadSafeInMemoryChannelLayer(InMemoryChannelLayer):
    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self._receiving_loop: asyncio.AbstractEventLoop | None = None

    def _foreign_loop(self) -> asyncio.AbstractEventLoop | None:
        loop = self._receiving_loop
        if loop is None or not loop.is_running() or loop is asyncio.get_running_loop():
            return None
        return loop

    async def _in_receiving_loop(self, coroutine) -> object:
        loop = self._foreign_loop()
        if loop is None:
            return await coroutine
        return await asyncio.wrap_future(asyncio.run_coroutine_threadsafe(coroutine, loop))

    async def receive(self, channel):
        self._receiving_loop = asyncio.get_running_loop()
        return await super().receive(channel)

    async def send(self, channel, message):
        if self._foreign_loop() is None:
            return await super().send(channel, message)
        return await self._in_receiving_loop(super().send(channel, message))

    async def group_send(self, group, message):
        if self._foreign_loop() is None:
            return await super().group_send(group, message)
        return await self._in_receiving_loop(super().group_send(group, message))
