"""Engines for tests: the real local engine, counting what it is asked to do
and declaring itself paid, so tests can check that nothing is paid twice."""

from dataclasses import replace

from studio.engines.local.engine import LocalEngine


class CountingEngine(LocalEngine):
    name = "counting"
    submits: list[str] = []
    polls: list[str] = []

    def capabilities(self):
        return replace(super().capabilities(), name=self.name, label="Counting local", paid=True)

    def submit(self, request):
        submission = super().submit(request)
        CountingEngine.submits.append(submission.interaction_id)
        return submission

    def poll(self, interaction_id, request, *, progress):
        CountingEngine.polls.append(interaction_id)
        return super().poll(interaction_id, request, progress=progress)
