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


class ScriptedEngine(CountingEngine):
    """A counting engine with a scene played while it submits: during the
    free preparation, and just after the paid call was announced and made
    (before its answer reaches the studio)."""

    name = "scripted"
    while_preparing = None  # called with the request
    after_paid_call = None  # called with the request
    cancels: list[str] = []

    def submit(self, request):
        if ScriptedEngine.while_preparing is not None:
            ScriptedEngine.while_preparing(request)
        submission = super().submit(request)
        if ScriptedEngine.after_paid_call is not None:
            ScriptedEngine.after_paid_call(request)
        return submission

    def cancel(self, interaction_id):
        ScriptedEngine.cancels.append(interaction_id)
        return super().cancel(interaction_id)
