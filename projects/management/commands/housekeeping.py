"""Run the studio's housekeeping now: ``--dry-run`` shows what it would do.

Workers run the same jobs on a schedule; this is for a person (or cron)
who wants them now, or wants to look first."""

from __future__ import annotations

from django.core.management.base import BaseCommand

from projects.services.housekeeping import JOB_NAMES, housekeeping_run


class Command(BaseCommand):
    help = "Resume orphaned versions and prune stale tasks, presence, temporary folders and files."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--dry-run", action="store_true", help="Show, change nothing.")
        parser.add_argument(
            "--job",
            action="append",
            choices=JOB_NAMES,
            default=[],
            help="Only this job (repeatable).",
        )

    def handle(self, *args, dry_run: bool, job: list[str], verbosity: int, **options) -> None:
        for report in housekeeping_run(dry_run=dry_run, only=tuple(job)):
            self.stdout.write(report.summary)
            if verbosity > 1 or dry_run:
                for line in report.lines:
                    self.stdout.write(f"  {line}")
