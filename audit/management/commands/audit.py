"""``manage.py audit``: sequence, checkpoint, verify, export, archive, grants — from the shell."""

from __future__ import annotations

import datetime as dt
import json
import os
import sys
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import connection, transaction
from django.utils.dateparse import parse_date, parse_datetime

from audit import chain, keys, references, roles, services
from audit.export import seq_range, write_export
from audit.report import Report
from audit.retention import ArchiveError, archive_range
from audit.verification import verify_database
from audit.witness import witness_publish


def _when(value: str) -> dt.datetime:
    parsed = parse_datetime(value)
    if parsed is None:
        day = parse_date(value)
        if day is None:
            raise CommandError(f"not a date or ISO 8601 time: {value!r}")
        parsed = dt.datetime.combine(day, dt.time())
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.UTC)


class Command(BaseCommand):
    help = "Chain, sign, verify, export and archive the audit log."

    def add_arguments(self, parser):
        sub = parser.add_subparsers(dest="action", required=True)
        seq = sub.add_parser("sequence", help="chain waiting entries now")
        seq.add_argument(
            "--for",
            dest="seconds",
            type=float,
            default=0.0,
            help="keep draining for this many seconds",
        )
        seq.add_argument("--batch-size", type=int, default=chain.BATCH_SIZE)
        sub.add_parser("checkpoint", help="sign the chain head with the platform key")
        verify = sub.add_parser("verify", help="check the whole chain and every checkpoint")
        verify.add_argument("--jwks", help="public JWKS file (default: the platform's keys)")
        verify.add_argument("--json", action="store_true", help="machine-readable report")
        references.add_arguments(verify, witness_default=" (default: AUDIT_WITNESS_URL)")
        verify.add_argument("--no-witness", action="store_true", help="do not read the witness")
        verify.add_argument(
            "--max-age",
            type=float,
            default=None,
            help="policy: newest checkpoint at most this old, seconds "
            "(default: AUDIT_CHECKPOINT_MAX_AGE; 0: not checked)",
        )
        verify.add_argument(
            "--workers",
            type=int,
            default=os.cpu_count() or 1,
            help="processes for the parallel first pass on PostgreSQL (1: sequential only)",
        )
        export = sub.add_parser("export", help="write JSON Lines for the offline verifier")
        export.add_argument("--from-seq", type=int)
        export.add_argument("--to-seq", type=int)
        export.add_argument("--since", type=_when, help="ISO date/time (inclusive)")
        export.add_argument("--until", type=_when, help="ISO date/time (exclusive)")
        export.add_argument("-o", "--output", help="file (default: standard output)")
        archive = sub.add_parser("archive", help="export, sign and remove entries up to a seq")
        archive.add_argument("--through-seq", type=int, required=True)
        archive.add_argument("-o", "--output", required=True, help="the archive file to write")
        grants = sub.add_parser(
            "grants", help="PostgreSQL privileges of the application role (audit tables restricted)"
        )
        grants.add_argument("--app-role", required=True, help="the role the application runs as")
        grants.add_argument(
            "--apply", action="store_true", help="run them now (connected as the tables' owner)"
        )

    def handle(self, *args, **options):
        return getattr(self, "do_" + options["action"])(**options) or None

    def do_sequence(self, *, seconds: float, batch_size: int, **_):
        if batch_size < 1:
            raise CommandError("--batch-size must be at least 1")
        count = (
            chain.sequence_for(seconds=seconds, batch_size=batch_size)
            if seconds > 0
            else chain.sequence_pending(batch_size=batch_size)
        )
        head, head_hash = chain.chain_head()
        self.stdout.write(f"chained {count} entries; head is seq {head} {head_hash[:16]}")

    def do_checkpoint(self, **_):
        checkpoint = services.checkpoint_create(signer=keys.signer())
        if checkpoint is None:
            self.stdout.write("no new entries since the last checkpoint")
        else:
            self.stdout.write(f"signed checkpoint at seq {checkpoint.seq} ({checkpoint.key_id})")
        if settings.AUDIT_WITNESS_URL:
            written = witness_publish()
            self.stdout.write(f"wrote {written} checkpoint(s) to the witness")

    def do_verify(
        self,
        *,
        jwks: str | None,
        json: bool,
        workers: int,
        anchor: list[str],
        checkpoints: list[str],
        witness: str | None,
        no_witness: bool,
        max_age: float | None,
        **_,
    ):
        if jwks:
            try:
                key_set = _load_json(jwks)
            except (OSError, ValueError) as exc:
                raise CommandError(f"cannot read the JWKS: {exc}") from exc
        else:
            key_set = keys.public_jwks()
        report = Report()
        where = None if no_witness else (witness or settings.AUDIT_WITNESS_URL or None)
        try:
            found, held = references.gather(
                key_set, report, anchors=anchor, checkpoint_files=checkpoints, witness=where
            )
        except (OSError, ValueError) as exc:
            raise CommandError(f"cannot read the references: {exc}") from exc
        report = verify_database(
            jwks=key_set,
            workers=max(1, workers),
            references=found,
            witness=held,
            max_age=settings.AUDIT_CHECKPOINT_MAX_AGE if max_age is None else max_age,
            report=report,
        )
        if json:
            self.stdout.write(
                _dumps(
                    {
                        "ok": report.ok,
                        "entries": report.entries,
                        "checkpoints": report.checkpoints,
                        "references": report.references,
                        "first_seq": report.first_seq,
                        "last_seq": report.last_seq,
                        "last_hash": report.last_hash,
                        "last_signed_seq": report.last_signed_seq,
                        "last_signed_iat": report.last_signed_iat,
                        "anchored_seq": report.anchored_seq,
                        "unsigned_from_seq": report.unsigned_from,
                        "problems": [vars(p) for p in report.problems],
                        "warnings": report.warnings,
                        "proof": report.proof(),
                    }
                )
            )
        else:
            for line in report.lines():
                self.stdout.write(line)
        if not report.ok:
            sys.exit(1)

    def do_export(self, *, from_seq, to_seq, since, until, output, **_):
        lo, hi = seq_range(from_seq=from_seq, to_seq=to_seq, since=since, until=until)
        if not output:
            write_export(self.stdout, from_seq=lo, to_seq=hi)
            return
        with Path(output).open("w", encoding="utf-8") as out:
            counts = write_export(out, from_seq=lo, to_seq=hi)
        if output:
            self.stderr.write(
                f"wrote {counts['entries']} entries and {counts['checkpoints']} checkpoints "
                f"to {output}"
            )

    def do_archive(self, *, through_seq: int, output: str, **_):
        try:
            checkpoint = archive_range(through_seq=through_seq, signer=keys.signer(), path=output)
        except ArchiveError as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(
            f"archived seq {checkpoint.archived_from_seq}..{checkpoint.seq} to {output} "
            f"(sha256 {checkpoint.archive_sha256}); signed archive checkpoint {checkpoint.pk}"
        )

    def do_grants(self, *, app_role: str, apply: bool, **_):
        if connection.vendor != "postgresql":
            raise CommandError("roles and grants are PostgreSQL's; this database is not")
        statements = roles.app_role_sql(app_role)
        if apply:
            with transaction.atomic(), connection.cursor() as cursor:
                for statement in statements:
                    cursor.execute(statement)
        for statement in statements:
            self.stdout.write(statement + ";")


def _load_json(path: str):
    with open(path, encoding="utf-8") as handle:
        return json.load(handle)


def _dumps(value) -> str:
    return json.dumps(value, indent=2)
