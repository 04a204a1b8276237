"""Run the whole studio in one process: migrate, an ASGI server and a task
worker thread. Like runserver, for the embedded default."""

from __future__ import annotations

import logging
import signal
import threading
import time

import uvicorn
from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError
from django.utils.crypto import get_random_string
from django_tasks_db.management.commands.db_worker import Worker

from projects.services import leases, sweeper
from projects.services.broadcast import send_through_one_loop
from projects.services.engines import engines_warm
from projects.services.housekeeping import HousekeepingThread

logger = logging.getLogger("studio")


def parse_addrport(value: str) -> tuple[str, int]:
    host, _, port = value.rpartition(":")
    if not host:
        host, port = ("127.0.0.1", value) if value.isdigit() else (value, "8000")
    try:
        return host.strip("[]"), int(port)
    except ValueError as error:
        raise CommandError(f"{value!r} is not ADDR:PORT") from error


class Command(BaseCommand):
    help = "Run Omni Studio: migrate, then serve HTTP and websockets with a task worker inside."

    def add_arguments(self, parser) -> None:
        parser.add_argument("addrport", nargs="?", default="127.0.0.1:8000")
        parser.add_argument(
            "--no-worker",
            action="store_true",
            help="Do not run a task worker here (run `manage.py db_worker` processes instead).",
        )

    def handle(self, *args, addrport: str, no_worker: bool, verbosity: int, **options) -> None:
        host, port = parse_addrport(addrport)
        call_command("migrate", interactive=False, verbosity=max(verbosity - 1, 0))

        worker = thread = housekeeping = None
        if settings.STUDIO_IN_PROCESS_WORKER and not no_worker:
            worker_id = f"studio-{get_random_string(12)}"
            worker = Worker(
                queue_names=["default"],
                interval=0.5,
                batch=False,
                backend_name="default",
                startup_delay=False,
                max_tasks=None,
                worker_id=worker_id,
                excluded_queue_names=[],
            )

            def work() -> None:
                engines_warm()
                send_through_one_loop()
                worker.run()

            thread = threading.Thread(target=work, name="studio-worker", daemon=True)
            thread.start()
            housekeeping = HousekeepingThread(worker_id=worker_id)
            housekeeping.start()
        # Versions left unfinished by the last run carry on.
        resumed = sweeper.versions_sweep(on_startup=True)

        server = uvicorn.Server(
            uvicorn.Config(
                "studio.asgi:application",
                host=host,
                port=port,
                lifespan="off",
                log_level="warning" if verbosity < 2 else "info",
                ws_ping_interval=20,
                # A live event goes to every open page as the same bytes:
                # compressing them once per socket would cost more CPU than
                # the bandwidth it saves.
                ws_per_message_deflate=False,
            )
        )
        display_host = f"[{host}]" if ":" in host else host
        banner = f"Omni Studio is running at http://{display_host}:{port}/" + (
            f" (resuming {resumed} unfinished version(s))" if resumed else ""
        )

        def announce_when_listening() -> None:
            while not server.started and not server.should_exit:
                time.sleep(0.05)
            if server.started:
                self.stdout.write(f"{banner}\nQuit with CONTROL-C.")
                self.stdout.flush()

        threading.Thread(target=announce_when_listening, daemon=True).start()
        # uvicorn re-raises the Ctrl-C it caught once it has shut down; make
        # that a KeyboardInterrupt here, so the worker is stopped and the
        # process exits normally.
        signal.signal(signal.SIGINT, signal.default_int_handler)
        try:
            server.run()
        except KeyboardInterrupt:
            pass
        finally:
            if housekeeping is not None:
                housekeeping.stop()
            if worker is not None:
                # Running work stops at its next progress report and hands its
                # version back; nothing is left half-written.
                leases.shutdown_requested.set()
                worker.running = False
                thread.join(timeout=30)
            self.stdout.write("Omni Studio stopped.")
