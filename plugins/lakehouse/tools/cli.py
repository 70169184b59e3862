"""Command line: the ``lakehouse`` script in the venv (or ``python -m lakehouse.tools.cli``)."""

from __future__ import annotations

import argparse
import sys
from datetime import date, timedelta
from pathlib import Path

DEMO_START = date(2026, 2, 23)
DEMO_TAXI_MONTH = date(2026, 1, 1)


def _settings():
    from lakehouse.config import get_settings

    settings = get_settings()
    settings.ensure_local_dirs()
    return settings


def cmd_generate(args: argparse.Namespace) -> int:
    from lakehouse.tools import generator

    settings = _settings()
    report = generator.generate(
        settings.raw_dir,
        start=args.start,
        days=args.days,
        events_per_day=args.events_per_day,
        users=args.users,
        bad_share=args.bad_share,
        seed=args.seed,
        progress=lambda message: print(message, flush=True),
    )
    generator.write_report(report, settings.reports_dir / "generated.json")
    for table, counts in report.counts.items():
        print(f"generated {table}: {sum(counts.values())} lines ({', '.join(f'{k} {v}' for k, v in counts.items())})")
    print(f"into {settings.raw_dir}")
    return 0


def cmd_manifest(args: argparse.Namespace) -> int:
    from lakehouse.tools import manifest

    settings = _settings()
    if args.check:
        stale = manifest.stale_nodes(settings)
        if stale:
            print("manifest is stale for: " + ", ".join(stale) + "\nrun: make manifest")
            return 1
        print("manifest is current")
        return 0
    print(f"wrote {manifest.write_manifest(settings)}")
    return 0


def _pipeline(name: str):
    from lakehouse.dag.pipelines import pipeline_named

    return pipeline_named(name)


def _write_report(settings) -> None:
    from lakehouse.tools import quality_report

    print(f"data-quality report: {quality_report.write(settings)}")


def _run_dates(pipeline_name: str, dates: list[date], report: bool = True) -> bool:
    """Run a pipeline's DAG through Airflow for each interval start (a day, or a month's first),
    then bring the data-quality report up to date."""
    from lakehouse.tools import airflow_home

    settings = _settings()
    log_path = settings.reports_dir / "airflow-runs.log"
    print(f"Airflow and dbt task logs: {log_path}")
    airflow_home.configure()
    from lakehouse.tools.runner import output_to, run_for_date

    pipeline = _pipeline(pipeline_name)
    with output_to(log_path):
        airflow_home.initialise()
        from lakehouse.dag.factory import build_dag

        dag = build_dag(pipeline)
    ok = True
    for data_date in dates:
        with output_to(log_path):
            run = run_for_date(dag, pipeline, data_date)
            failed = sorted(ti.task_id for ti in run.get_task_instances() if ti.state == "failed")
        print(f"{pipeline.dag_id} for {data_date}: {run.state} ({run.run_id})"
              + (f"; failed tasks: {', '.join(failed)}" if failed else ""))
        ok = ok and run.state == "success"
    if report:
        _write_report(settings)
    return ok


def cmd_run(args: argparse.Namespace) -> int:
    _settings()
    pipeline = _pipeline(args.pipeline)
    return 0 if _run_dates(pipeline.name, [pipeline.interval_start_of(d) for d in args.dates]) else 1


def cmd_backfill(args: argparse.Namespace) -> int:
    from lakehouse.tools import airflow_home

    settings = _settings()
    pipeline = _pipeline(args.pipeline)
    airflow_home.configure()
    from lakehouse.tools.backfill import most_runs_at_once, run_backfill
    from lakehouse.tools.runner import output_to

    log_path = settings.reports_dir / "airflow-services.log"
    print(f"scheduler, DAG processor and API server logs: {log_path}; task logs: {airflow_home.task_log_dir()}")
    with output_to(settings.reports_dir / "airflow-runs.log"):
        airflow_home.initialise()
    first, last = (pipeline.interval_start_of(d) for d in (args.first, args.last))
    runs = run_backfill(
        pipeline, first, last, log_path=log_path,
        max_active_runs=args.max_active_runs, reprocess_behavior=args.reprocess_behavior, report=print,
        progress=lambda line: print(line, flush=True),
    )  # fmt: skip
    for run in runs:
        print(f"{pipeline.dag_id} for {run.data_interval_start:%Y-%m-%d}: {run.state} ({run.run_id})")
    print(f"{len(runs)} runs, at most {most_runs_at_once(runs)} at once")
    _write_report(settings)
    return 0 if runs and all(run.state == "success" for run in runs) else 1


def cmd_stale_runs(args: argparse.Namespace) -> int:
    """Runs still RUNNING in the audit table long after they started: their audit end never ran."""
    from lakehouse.platform import stale_audit_runs

    try:
        runs = stale_audit_runs(_settings(), timedelta(hours=args.hours), args.table)
    except ValueError as error:
        print(error)
        return 2
    for item in runs:
        print(f"{item['pipeline']}\t{item['run_id']}\tstarted {item['started_at']}")
    print(f"{len(runs)} runs RUNNING for more than {args.hours:g} hours")
    return 0


def cmd_stale_partitions(args: argparse.Namespace) -> int:
    """Landed dates whose files changed after their last successful run, or that no run has processed."""
    from lakehouse.platform import stale_partitions

    try:
        stale = stale_partitions(_settings(), _pipeline(args.pipeline), args.table)
    except ValueError as error:
        print(error)
        return 2
    for partition in stale:
        print(partition.describe())
    print(f"{len(stale)} partitions to reprocess")
    return 0


def cmd_deploy_mwaa(args: argparse.Namespace) -> int:
    from lakehouse.config import get_aws_settings, get_settings
    from lakehouse.platform.aws.athena import AthenaQueryError
    from lakehouse.tools import mwaa_deploy

    try:
        target = mwaa_deploy.target_from_outputs(args.environment)
        if not args.report_only:
            mwaa_deploy.deploy(target, mwaa_deploy.build(get_settings()), dry_run=args.dry_run)
        mwaa_deploy.publish_report(target, get_aws_settings(), dry_run=args.dry_run)
    except (mwaa_deploy.DeployError, AthenaQueryError) as error:
        print(error)
        return 1
    return 0


def cmd_generate_taxi(args: argparse.Namespace) -> int:
    import shutil

    from lakehouse.platform.local.glue_job import ZONE_LOOKUP_DIR
    from lakehouse.tools import taxi_generator

    settings = _settings()
    report = taxi_generator.generate_month(
        settings.raw_dir, args.month.year, args.month.month, trips=args.trips, seed=args.seed
    )
    print(f"generated nyc_taxi {args.month:%Y-%m}: {report.rows_written} trips into {settings.raw_dir / 'nyc_taxi'}")
    if args.zone_lookup:
        target = settings.raw_dir / ZONE_LOOKUP_DIR
        target.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(args.zone_lookup, target / args.zone_lookup.name)
        print(f"landed the zone lookup {args.zone_lookup.name}")
    return 0


def cmd_summary(args: argparse.Namespace) -> int:
    from lakehouse.tools import summary

    settings = _settings()
    built = summary.build(settings)
    summary.write(built, settings.reports_dir / "summary.json")
    print(summary.render(built))
    return 0


def cmd_report(args: argparse.Namespace) -> int:
    from lakehouse.tools import airflow_home, quality_report

    # Task durations come from this machine's Airflow database, when there is one.
    airflow_home.configure()
    print(f"data-quality report: {quality_report.write(_settings(), args.runs)}")
    return 0


def cmd_airflow(args: argparse.Namespace) -> int:
    from lakehouse.tools import local_airflow

    return local_airflow.serve()


def cmd_docs(args: argparse.Namespace) -> int:
    from lakehouse.tools import dbt_docs

    print(f"dbt docs written to {dbt_docs.generate(_settings())}; `lakehouse airflow` shows them under Browse")
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    cmd_generate(args)
    cmd_generate_taxi(args)
    dates = [args.start + timedelta(days=n) for n in range(args.days)]
    ok = _run_dates("events", dates, report=False)
    ok = _run_dates("nyc_taxi", [args.month]) and ok
    print()
    cmd_summary(args)
    return 0 if ok else 1


def _date(text: str) -> date:
    return date.fromisoformat(text)


def _month(text: str) -> date:
    return date.fromisoformat(f"{text}-01")


def _date_or_month(text: str) -> date:
    return _month(text) if len(text) == 7 else _date(text)


def parser() -> argparse.ArgumentParser:
    root = argparse.ArgumentParser(prog="lakehouse", description=__doc__)
    commands = root.add_subparsers(dest="command", required=True)
    _data_commands(commands)
    _run_commands(commands)
    _operations_commands(commands)
    return root


def _data_options(command: argparse.ArgumentParser) -> None:
    command.add_argument("--start", type=_date, default=DEMO_START, help="first day (YYYY-MM-DD)")
    command.add_argument("--days", type=int, default=3)
    command.add_argument("--events-per-day", type=int, default=1000)
    command.add_argument("--users", type=int, default=200)
    command.add_argument("--bad-share", type=float, default=0.05, help="share of bad records")
    command.add_argument("--seed", type=int, default=42)


def _taxi_options(command: argparse.ArgumentParser) -> None:
    command.add_argument("--month", type=_month, default=DEMO_TAXI_MONTH, help="taxi month (YYYY-MM)")
    command.add_argument("--trips", type=int, default=3000)
    command.add_argument("--zone-lookup", type=Path, help="TLC's taxi_zone_lookup.csv to land beside the trips")


def _data_commands(commands) -> None:
    """Landing generated data, and the demo that lands and runs it."""
    generate = commands.add_parser("generate", help="write raw events and users into the raw zone")
    _data_options(generate)
    generate.set_defaults(func=cmd_generate)

    generate_taxi = commands.add_parser("generate-taxi", help="write a month of raw NYC TLC yellow trips")
    _taxi_options(generate_taxi)
    generate_taxi.add_argument("--seed", type=int, default=42)
    generate_taxi.set_defaults(func=cmd_generate_taxi)

    demo = commands.add_parser(
        "demo", help="generate data, run the events DAG for each day and the taxi DAG for a month, summarise"
    )
    _data_options(demo)
    _taxi_options(demo)
    demo.set_defaults(func=cmd_demo)


def _run_commands(commands) -> None:
    """Running the DAGs through Airflow."""
    from lakehouse.dag.pipelines import PIPELINES

    run = commands.add_parser("run", help="run a pipeline's DAG through Airflow for data dates (taxi: months)")
    run.add_argument("dates", type=_date_or_month, nargs="+", metavar="YYYY-MM-DD|YYYY-MM")
    run.add_argument("--pipeline", choices=[p.name for p in PIPELINES], default="events")
    run.set_defaults(func=cmd_run)

    backfill = commands.add_parser(
        "backfill", help="backfill data dates (taxi: months) with Airflow's scheduler, as `airflow backfill create`"
    )
    backfill.add_argument("first", type=_date_or_month, metavar="FROM")
    backfill.add_argument("last", type=_date_or_month, metavar="TO")
    backfill.add_argument("--pipeline", choices=[p.name for p in PIPELINES], default="events")
    backfill.add_argument("--max-active-runs", type=int, default=2)
    backfill.add_argument("--reprocess-behavior", choices=("none", "completed", "failed"), default="none")
    backfill.set_defaults(func=cmd_backfill)

    airflow = commands.add_parser(
        "airflow", help="start Airflow with its UI, both DAGs, and airflow_settings.yaml applied, until Ctrl-C"
    )
    airflow.set_defaults(func=cmd_airflow)


def _operations_commands(commands) -> None:
    """Looking after a lake and its deployment."""
    from lakehouse.dag.pipelines import PIPELINES

    docs = commands.add_parser("docs", help="generate the dbt docs site that the Airflow UI shows under Browse")
    docs.set_defaults(func=cmd_docs)

    stale = commands.add_parser("stale-runs", help="audit records still RUNNING long after their run started")
    stale.add_argument("--hours", type=float, default=6.0)
    stale.add_argument("--table", help="aws: the DynamoDB table (default: the pipeline_runs_table output)")
    stale.set_defaults(func=cmd_stale_runs)

    partitions = commands.add_parser(
        "stale-partitions", help="landed dates whose files changed after their run, or that no run has processed"
    )
    partitions.add_argument("--pipeline", choices=[p.name for p in PIPELINES if p.raw_tables], default="events")
    partitions.add_argument("--table", help="aws: the DynamoDB table (default: the pipeline_runs_table output)")
    partitions.set_defaults(func=cmd_stale_partitions)

    summary = commands.add_parser("summary", help="tables, tests, quarantine and audit records on disk")
    summary.set_defaults(func=cmd_summary)

    report = commands.add_parser("report", help="write the data-quality report (HTML with plots) under reports/")
    report.add_argument("--runs", type=int, default=30, help="how many of each pipeline's latest intervals to show")
    report.set_defaults(func=cmd_report)

    manifest = commands.add_parser("manifest", help="rebuild include/dbt/manifest.json (or --check it)")
    manifest.add_argument("--check", action="store_true")
    manifest.set_defaults(func=cmd_manifest)

    deploy_mwaa = commands.add_parser(
        "deploy-mwaa", help="upload dags/, plugins.zip, requirements.txt and startup.sh to MWAA and update it"
    )
    deploy_mwaa.add_argument("--environment", required=True, help="the Terraform environment (sandbox, ...)")
    deploy_mwaa.add_argument("--dry-run", action="store_true", help="print what would change, change nothing")
    deploy_mwaa.add_argument(
        "--report-only", action="store_true", help="only redraw the data-quality report from the runs' records"
    )
    deploy_mwaa.set_defaults(func=cmd_deploy_mwaa)


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
