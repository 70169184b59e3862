"""Runs a Glue job's PySpark script on this machine: a separate Python process with Spark in
local mode, given the arguments Glue would pass. The script is the one Terraform uploads, so
there is no second copy of its logic."""

from __future__ import annotations

import json
import logging
import subprocess
import sys
from typing import Any

from lakehouse import paths
from lakehouse.config import Settings
from lakehouse.platform.local.cleaned_zone import QUARANTINE_DIR, TRIPS_DIR, ZONES_DIR

log = logging.getLogger(__name__)

SUMMARY_PREFIX = "LAKEHOUSE_GLUE_SUMMARY "
ZONE_LOOKUP_DIR = "nyc_taxi/taxi_zone_lookup"


class GlueJobError(RuntimeError):
    """The job's process failed; the message carries the end of its output."""


def job_arguments(settings: Settings, year: int, month: int) -> dict[str, str]:
    """The job's arguments on the local target; on AWS the same names point into S3."""
    return {
        "--YEAR": str(year),
        "--MONTH": str(month),
        "--RAW_URI": f"{settings.raw_dir / 'nyc_taxi' / 'yellow'}/",
        "--CLEANED_URI": f"{settings.cleaned_dir / TRIPS_DIR}/",
        "--QUARANTINE_URI": f"{settings.cleaned_dir / QUARANTINE_DIR}/",
        "--ZONE_LOOKUP_URI": f"{settings.raw_dir / ZONE_LOOKUP_DIR}/",
        "--ZONES_URI": f"{settings.cleaned_dir / ZONES_DIR}/",
    }


def run_locally(settings: Settings, job: str, year: int, month: int) -> dict[str, Any]:
    command = [sys.executable, str(paths.glue_script(job))]
    for name, value in job_arguments(settings, year, month).items():
        command += [name, value]
    log.info("glue job %s: %s", job, " ".join(command))
    completed = subprocess.run(command, capture_output=True, text=True)
    for line in completed.stderr.splitlines()[-40:]:
        log.info("%s", line)
    if completed.returncode != 0:
        tail = "\n".join((completed.stdout + completed.stderr).splitlines()[-30:])
        raise GlueJobError(f"glue job {job} for {year}-{month:02d} failed (exit {completed.returncode}):\n{tail}")
    summaries = [line[len(SUMMARY_PREFIX):] for line in completed.stdout.splitlines() if line.startswith(SUMMARY_PREFIX)]
    if not summaries:
        raise GlueJobError(f"glue job {job} printed no {SUMMARY_PREFIX.strip()} line")
    summary = json.loads(summaries[-1])
    log.info("glue job %s for %d-%02d: %s", job, year, month, summary)
    return summary
