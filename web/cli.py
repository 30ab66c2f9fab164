"""The `houqin` command: set up, serve, manage users, check definitions."""
import argparse
import os
import sys
from pathlib import Path

from sqlmodel import select

from web.i18n import problem_text, said  # the command line says refusals in English


def main(argv: list[str] | None = None, *, clock=None) -> int:
    """Run one command. Each command is one unit of work on the database; `clock` (default: real time)
    is what "now" is for it (tests pass their frozen clock)."""
    from engine import settings
    from engine.clock import Clock

    parser = _parser()
    args = parser.parse_args(argv)
    args.settings = settings.current()
    if getattr(args, "db", None):
        args.settings = args.settings.model_copy(update={"database_url": args.db})
    args.clock = clock or Clock()
    if not hasattr(args, "run"):
        parser.print_help()
        return 2
    return args.run(args) or 0


def _session(args):
    from engine.storage.db import session_scope

    return session_scope(args.settings.database)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="houqin", description="Hospital logistics work orders.")
    commands = parser.add_subparsers()

    init = commands.add_parser("init", help="create the schema, load definitions/, create an admin")
    init.add_argument("--demo", action="store_true", help="also create demo departments, users and work orders")
    init.add_argument("--demo-months", type=float, default=None, metavar="N",
                      help="with --demo: months of history before now (default 6; 0: none)")
    init.add_argument("--demo-seed", type=int, default=None, metavar="S",
                      help="with --demo: the seed the history is drawn from (the same seed, the same history)")
    init.add_argument("--db", help="database URL (default: HOUQIN_DATABASE_URL or var/houqin.db)")
    init.set_defaults(run=_init)

    serve = commands.add_parser("serve", help="run the web server (API, pages and the SLA sweeper)")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000)
    serve.add_argument("--db")
    serve.add_argument("--workers", type=int, default=1, help="web worker processes")
    serve.add_argument("--no-sweeper", action="store_true", help="leave SLA sweeping to `houqin worker`")
    serve.set_defaults(run=_serve)

    user = commands.add_parser("user", help="manage users").add_subparsers()
    add = user.add_parser("add", help="add a user")
    add.add_argument("name")
    add.add_argument("--role", action="append", required=True, help="a role (repeat or comma-separate for several)")
    add.add_argument("--department")
    add.add_argument("--team")
    add.add_argument("--password", required=True, help="a first password, replaced by the user at the first sign-in")
    add.add_argument("--keep-password", action="store_true", help="the user keeps this password (not asked to change it)")
    add.add_argument("--display-name", default="")
    add.add_argument("--db")
    add.set_defaults(run=_user_add)
    reset = user.add_parser("reset-password", help="give a user a temporary password, to be changed at the next "
                                                   "sign-in; ends every session of theirs")
    reset.add_argument("name")
    reset.add_argument("--password", help="the temporary password (default: a random one, printed)")
    reset.add_argument("--db")
    reset.set_defaults(run=_user_reset_password)

    defs = commands.add_parser("definitions", help="process definitions").add_subparsers()
    validate = defs.add_parser("validate", help="check definition files; prints file:line:col: message")
    validate.add_argument("files", nargs="+")
    validate.set_defaults(run=_validate)
    publish = defs.add_parser("publish", help="publish definition files as new versions")
    publish.add_argument("files", nargs="+")
    publish.add_argument("--db")
    publish.set_defaults(run=_publish)

    sweep = commands.add_parser("sweep", help="fire due SLA escalations, auto-confirm, create recurring work and send the outbox once (for cron)")
    sweep.add_argument("--db")
    sweep.set_defaults(run=_sweep)
    worker = commands.add_parser("worker", help="sweep SLA timers and send the outbox in a loop (any number may run)")
    worker.add_argument("--interval", type=float, default=None,
                        help="seconds between rounds (default: HOUQIN_SWEEP_INTERVAL or 30)")
    worker.add_argument("--db")
    worker.set_defaults(run=_worker)

    report = commands.add_parser("report", help="write a month's cockpit figures as an .xlsx workbook")
    report.add_argument("--month", required=True, help="the local month, e.g. 2026-10")
    report.add_argument("--out", help="the file to write (default: houqin-report-MONTH.xlsx)")
    report.add_argument("--language", choices=("zh", "en"), default="zh", help="the workbook's language (default zh)")
    report.add_argument("--db")
    report.set_defaults(run=_report)
    schedules = commands.add_parser("schedules", help="recurring work orders").add_subparsers()
    _file_command(schedules, "check", "check the schedule file; prints file:line:col: message",
                  "HOUQIN_SCHEDULES or definitions/schedules.yaml", _schedules_check, db=False)
    _file_command(schedules, "publish", "publish the schedule file as a new version if it changed",
                  "HOUQIN_SCHEDULES or definitions/schedules.yaml", _schedules_publish)
    equipment = commands.add_parser("equipment", help="the equipment register's device classes").add_subparsers()
    _file_command(equipment, "check", "check the equipment file; prints file:line:col: message",
                  "HOUQIN_EQUIPMENT or definitions/equipment.yaml", _equipment_check, db=False)
    targets = commands.add_parser("targets", help="the hospital's targets the cockpit holds figures to").add_subparsers()
    _file_command(targets, "check", "check the targets file; prints file:line:col: message",
                  "HOUQIN_TARGETS or definitions/targets.yaml", _targets_check, db=False)
    appraisal = commands.add_parser("appraisal", help="the monthly appraisal's piece-rate points").add_subparsers()
    _file_command(appraisal, "check", "check the piece-rate file; prints file:line:col: message",
                  "HOUQIN_APPRAISAL or definitions/appraisal.yaml", _appraisal_check, db=False)
    calendars = commands.add_parser("calendars", help="business calendars").add_subparsers()
    _file_command(calendars, "check", "check the calendars file; prints file:line:col: message",
                  "HOUQIN_CALENDARS or definitions/calendars.yaml", _calendars_check, db=False)
    _file_command(calendars, "publish", "publish the calendars file as a new version if it changed "
                  "(running timers stay on theirs; see `sla recompute`)",
                  "HOUQIN_CALENDARS or definitions/calendars.yaml", _calendars_publish)

    sla = commands.add_parser("sla", help="SLA timers").add_subparsers()
    recompute = sla.add_parser("recompute", help="move running timers onto the newest calendars version, "
                                                 "recording old and new due times in each work order's history")
    recompute.add_argument("--process", help="only this process's work orders")
    recompute.add_argument("--order", help="only this work order (its number, e.g. RP-2026-000031)")
    recompute.add_argument("--db")
    recompute.set_defaults(run=_sla_recompute)

    simulate = commands.add_parser("simulate", help="what-if: replay the last months of real work against a draft "
                                                    "process definition or calendars file, beside those in force")
    simulate.add_argument("file", help="a process definition (same key as a published one) or a calendars file")
    simulate.add_argument("--months", type=int, default=6, help="how many months of history (default 6)")
    simulate.add_argument("--seed", type=int, default=0, help="seeds the draws of re-routed work (default 0)")
    simulate.add_argument("--json", action="store_true", help="print the figures as JSON")
    simulate.add_argument("--db")
    simulate.set_defaults(run=_simulate)

    places = commands.add_parser("locations", help="the location tree").add_subparsers()
    load = places.add_parser("import", help="add locations from an .xlsx or UTF-8 CSV file (code, name, kind, "
                                            "parent_code); every row or none")
    load.add_argument("file")
    load.add_argument("--db")
    load.set_defaults(run=_locations_import)

    return parser


def _locations_import(args) -> int:
    from pathlib import Path

    from engine.errors import Invalid
    from engine.places import location_sheet
    from engine.storage.unit_of_work import unit_of_work

    try:
        data = Path(args.file).read_bytes()
    except OSError as exc:
        print(f"houqin: {exc.strerror}: {args.file}", file=sys.stderr)
        return 1
    try:
        with _session(args) as session, unit_of_work(session):
            counts = location_sheet.import_file(session, data)
    except Invalid as exc:
        for error in exc.errors:
            print(f"{args.file}: {problem_text('en', error)}", file=sys.stderr)
        if not exc.errors:
            print(f"{args.file}: {said('en', exc)}", file=sys.stderr)
        print("houqin: nothing was imported", file=sys.stderr)
        return 1
    kinds = ", ".join(f"{n} {kind}" for kind, n in counts["by_kind"].items() if n)
    print(f"imported {counts['created']} locations ({kinds})")
    return 0


def _file_command(parent, name: str, help: str, default: str, run, *, db: bool = True) -> None:
    """A subcommand taking one optional data file."""
    command = parent.add_parser(name, help=help)
    command.add_argument("file", nargs="?", help=f"default: {default}")
    if db:
        command.add_argument("--db")
    command.set_defaults(run=run)


def _init(args) -> int:
    from engine.orders import recurring
    from engine.people import passwords
    from engine.people.users import add_user
    from engine.published import definitions
    from engine.sla import autoconfirm
    from engine.storage.migrate import upgrade
    from engine.storage.models import UserRole
    from engine.storage.unit_of_work import unit_of_work

    upgrade(args.settings.database)
    now = args.clock.now()
    with _session(args) as session, unit_of_work(session):
        created = definitions.publish_directory(session, now=now)
        if recurring.schedule_path().exists():
            row, new = recurring.publish_file(session, now=now)
            created += [row] if new else []
        for row in created:
            print(f"published {row.key} version {row.version}")
        autoconfirm.backfill(session, now)  # work orders resolved before the wait was a timer
        if session.exec(select(UserRole).where(UserRole.role == "admin")).first() is None:
            # The password is printed, so it is seen by whoever reads the terminal or its log: the admin
            # replaces it at the first sign-in (demo users keep their published demo password).
            password = passwords.temporary("admin")
            add_user(session, username="admin", password=password, roles=["admin", "designer"], display_name="管理员",
                     must_change_password=True)
            print(f"created user 'admin' with one-time password: {password} (to be changed at the first sign-in)")
        else:
            print("an admin already exists; left as is")
    if args.demo:
        from engine.demo import load_demo
        from engine.demo.history import DEFAULT_MONTHS

        months = DEFAULT_MONTHS if args.demo_months is None else args.demo_months
        if months < 0 or months > 60:
            print("houqin: --demo-months must be from 0 to 60", file=sys.stderr)
            return 2
        with _session(args) as session, unit_of_work(session):
            lines = load_demo(session, now, months=months, seed=args.demo_seed)
        for line in lines:
            print(line)
    return 0


def _serve(args) -> int:
    import uvicorn

    from web.worker import Worker

    # The server's processes read their settings from the environment.
    if getattr(args, "db", None):
        os.environ["HOUQIN_DATABASE_URL"] = args.db
    Worker(args.settings, args.clock).prepare()
    if not args.no_sweeper:
        os.environ["HOUQIN_SWEEPER"] = "1"
    print(f"Houqin on http://{args.host}:{args.port}/  (API docs: /docs)")
    # The client's address (the sign-in limit counts per address) is the connecting socket's, unless it is one of
    # HOUQIN_TRUSTED_PROXIES: only then does uvicorn read X-Forwarded-For (taking the last address no trusted proxy
    # added). Uvicorn's own default would trust any client connecting over loopback.
    trusted = [str(network) for network in args.settings.trusted_proxies]
    uvicorn.run("web.app:app", host=args.host, port=args.port, workers=args.workers, log_level="info",
                proxy_headers=bool(trusted), forwarded_allow_ips=trusted or None)
    return 0


def _user_add(args) -> int:
    from engine.errors import Invalid
    from engine.people.users import add_user
    from engine.storage.unit_of_work import unit_of_work

    roles = [role.strip() for value in args.role for role in value.split(",") if role.strip()]
    try:
        with _session(args) as session, unit_of_work(session):
            add_user(session, username=args.name, password=args.password, roles=roles, department=args.department,
                     team=args.team, display_name=args.display_name,
                     must_change_password=not args.keep_password)  # whoever typed it knows it, so does the shell's history
    except Invalid as exc:
        print(f"houqin: {said('en', exc)}", file=sys.stderr)
        return 1
    print(f"added {args.name} ({', '.join(roles)})")
    return 0


def _user_reset_password(args) -> int:
    from engine.errors import HouqinError
    from engine.people.credentials import reset_password
    from engine.people.users import user_by_name
    from engine.storage.unit_of_work import unit_of_work

    try:
        with _session(args) as session, unit_of_work(session):
            temporary = reset_password(session, user_by_name(session, args.name), now=args.clock.now(),
                                       temporary=args.password)
    except HouqinError as exc:
        print(f"houqin: {said('en', exc)}", file=sys.stderr)
        return 1
    print(f"reset the password of {args.name}; temporary password: {temporary} (to be changed at the next sign-in)")
    return 0


def _validate(args) -> int:
    from pathlib import Path

    from engine.published.definitions import calendar_names
    from workflows import DefinitionError, load_file

    # definitions/ holds the calendars, schedule and equipment files beside the processes: each is checked as
    # its own command checks it, so `houqin definitions validate definitions/*.yaml` checks the whole folder.
    data_files = {"calendars": _calendars_check, "schedules": _schedules_check, "equipment": _equipment_check,
                  "targets": _targets_check, "appraisal": _appraisal_check}
    calendars, failed = calendar_names(), False
    for path in args.files:
        if Path(path).stem in data_files:
            failed |= data_files[Path(path).stem](argparse.Namespace(file=path)) != 0
            continue
        try:
            load_file(path, calendars)
        except DefinitionError as exc:
            failed = True
            for problem in exc.problems:
                print(problem)
        else:
            print(f"{path}: ok")
    return 1 if failed else 0


def _publish(args) -> int:
    from pathlib import Path

    from engine.errors import HouqinError
    from engine.published import definitions
    from engine.storage.unit_of_work import unit_of_work
    from workflows import DefinitionError

    lines = []
    try:
        with _session(args) as session, unit_of_work(session):  # all the files, or none of them
            for path in args.files:
                row, created = definitions.publish(session, Path(path).read_text(encoding="utf-8"), file=path,
                                                   now=args.clock.now())
                lines.append(f"{path}: {row.key} version {row.version}" + ("" if created else " (unchanged)"))
    except (DefinitionError, OSError) as exc:
        print(exc, file=sys.stderr)
        return 1
    except HouqinError as exc:
        print(f"houqin: {said('en', exc)}", file=sys.stderr)
        return 1
    for line in lines:
        print(line)
    return 0


def _sweep(args) -> int:
    from web.worker import Worker

    done = Worker(args.settings, args.clock).tick()
    for item in done.fired:
        print(f"{item.number} {item.timer} level {item.level}: {', '.join(item.recipients) or '-'}")
    for order in done.confirmed:
        print(f"{order.number} auto-confirmed")
    for order in done.created:
        print(f"{order.number} created: {order.title}")
    report = done.report
    print(f"{len(done.fired)} escalations, {len(done.confirmed)} auto-confirmed, {len(done.created)} recurring created; "
          f"outbox: {report.sent} sent, {report.retrying} to retry, {report.failed} failed")
    return 0


def _worker(args) -> int:
    import logging
    import signal
    import threading

    from web.worker import Worker, interval_from

    if args.interval is not None and args.interval <= 0:
        print("houqin: --interval must be a positive number of seconds", file=sys.stderr)
        return 2
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    interval = args.interval or interval_from(args.settings)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    worker = Worker(args.settings, args.clock)
    worker.prepare()
    print(f"houqin worker: sweeping and sending every {interval:g}s (Ctrl-C to stop)")
    try:
        worker.run(interval, stop)
    except KeyboardInterrupt:
        pass
    return 0


def _report(args) -> int:
    from engine.errors import Invalid
    from engine.reports.workbook import month_figures
    from web.i18n import Translator
    from web.report_sheet import workbook

    path = Path(args.out or f"houqin-report-{args.month}.xlsx")
    with _session(args) as session:
        try:
            data = month_figures(session, args.month, now=args.clock.now())
            path.write_bytes(workbook(session, args.month, data, Translator(args.language)))
        except (Invalid, OSError) as exc:
            print(f"houqin: {said('en', exc) if isinstance(exc, Invalid) else exc}", file=sys.stderr)
            return 1
    print(f"wrote {path}")
    return 0


def _schedules_check(args) -> int:
    """Checked against the process files in definitions/, as `definitions validate` is: no database needed."""
    from pathlib import Path

    from engine import settings
    from engine.orders import recurring
    from engine.places import classes
    from engine.published.definitions import DATA_FILES, calendar_names
    from workflows import load_file
    from workflows.schedules import load_schedule

    path = Path(args.file) if args.file else recurring.schedule_path()
    calendars = calendar_names()

    def check():
        processes = {d.key: d for d in (load_file(f, calendars) for f in sorted(settings.definitions_dir().glob("*.yaml"))
                                        if f.stem not in DATA_FILES)}
        return load_schedule(path.read_text(encoding="utf-8"), str(path), calendars=calendars, processes=processes,
                             asset_classes=classes.known_values())

    schedule = _read_schedule(path, check, problems_to=sys.stdout)
    if schedule is None:
        return 1
    print(f"{path}: ok, {len(schedule.rules)} rules")
    return 0


def _equipment_check(args) -> int:
    """Each class's category checked against the `category` choices of the process files in definitions/."""
    from pathlib import Path

    from engine import settings
    from engine.places import classes
    from engine.published.definitions import DATA_FILES, calendar_names
    from workflows import DefinitionError, load_file
    from workflows.equipment import categories_of, load_file as load_equipment

    path = Path(args.file) if args.file else classes.equipment_path()
    try:
        calendars = calendar_names()
        processes = [load_file(f, calendars) for f in sorted(settings.definitions_dir().glob("*.yaml"))
                     if f.stem not in DATA_FILES]
        equipment = load_equipment(path, categories=categories_of(processes))
    except DefinitionError as exc:
        for problem in exc.problems:
            print(problem)
        return 1
    print(f"{path}: ok, {len(equipment.classes)} classes")
    return 0


def _targets_check(args) -> int:
    """The processes, timers and priorities named checked against the process files in definitions/."""
    from engine import settings
    from workflows.targets import load_file as load_targets

    path = Path(args.file) if args.file else settings.current().targets_path
    return _data_file_check(path, lambda: load_targets(path, processes=_shipped_processes()),
                            lambda found: f"{len(found.targets)} targets")


def _appraisal_check(args) -> int:
    """The processes, states and choices named checked against the process files in definitions/."""
    from engine import settings
    from workflows.appraisal import load_file as load_appraisal

    path = Path(args.file) if args.file else settings.current().appraisal_path
    return _data_file_check(path, lambda: load_appraisal(path, processes=_shipped_processes()),
                            lambda found: f"{len(found.processes)} processes")


def _shipped_processes() -> dict:
    """The process files of definitions/, by key: what the data files beside them may name."""
    from engine import settings
    from engine.published.definitions import DATA_FILES, calendar_names
    from workflows import load_file

    calendars = calendar_names()
    return {d.key: d for d in (load_file(f, calendars) for f in sorted(settings.definitions_dir().glob("*.yaml"))
                               if f.stem not in DATA_FILES)}


def _data_file_check(path, read, summary) -> int:
    """`read()` the file and print `path: ok, <summary>`, or every problem with its line, and fail."""
    from workflows import DefinitionError

    try:
        found = read()
    except DefinitionError as exc:
        for problem in exc.problems:
            print(problem)
        return 1
    except OSError as exc:
        print(f"{path}: cannot be read: {exc.strerror}")
        return 1
    print(f"{path}: ok, {summary(found)}")
    return 0


def _read_schedule(path, read, *, problems_to):
    """`read()`, or None after printing what is wrong with the schedule file at `path`."""
    from workflows import DefinitionError

    try:
        return read()
    except DefinitionError as exc:
        for problem in exc.problems:
            print(problem, file=problems_to)
    except OSError as exc:
        print(f"houqin: cannot read {path}: {exc}", file=sys.stderr)
    return None


def _schedules_publish(args) -> int:
    from pathlib import Path

    from engine.orders import recurring
    from engine.storage.unit_of_work import unit_of_work

    path = Path(args.file) if args.file else recurring.schedule_path()

    def publish():
        with _session(args) as session, unit_of_work(session):
            return recurring.publish_file(session, path, now=args.clock.now())

    published = _read_schedule(path, publish, problems_to=sys.stderr)
    if published is None:
        return 1
    row, created = published
    print(f"{path}: schedules version {row.version}" + ("" if created else " (unchanged)"))
    return 0


def _calendars_check(args) -> int:
    from engine.sla import calendar
    from workflows.calendars import CalendarError, load_calendars

    path = args.file or calendar.calendar_file()
    try:
        calendars = load_calendars(path)
    except CalendarError as exc:
        print(exc)
        return 1
    print(f"{path}: ok, {len(calendars)} calendars")
    return 0


def _calendars_publish(args) -> int:
    from pathlib import Path

    from engine.sla import calendar
    from engine.storage.unit_of_work import unit_of_work

    try:
        with _session(args) as session, unit_of_work(session):
            row, created = calendar.publish_file(session, Path(args.file) if args.file else None, now=args.clock.now())
    except calendar.CalendarError as exc:
        print(exc, file=sys.stderr)
        return 1
    print(f"calendars version {row.version}" + ("" if created else " (unchanged)")
          + (": running timers keep theirs until `houqin sla recompute`" if created and row.version > 1 else ""))
    return 0


def _sla_recompute(args) -> int:
    from engine.sla import calendar
    from engine.storage.unit_of_work import unit_of_work

    with _session(args) as session, unit_of_work(session):
        moved = calendar.recompute(session, now=args.clock.now(), process=args.process, number=args.order)
    for item in moved:
        print(f"{item.number} {item.timer} (cycle {item.cycle}): calendars v{item.from_version or '-'} -> "
              f"v{item.to_version}, due {item.old_due_at.isoformat()} -> {item.new_due_at.isoformat()}")
    print(f"{len(moved)} timers moved to the newest calendars version")
    return 0


def _simulate(args) -> int:
    import json

    from engine.foresight import drafts, report
    from engine.foresight.simulate import MAX_MONTHS, simulate
    from workflows import DefinitionError
    from workflows.loader import read_text

    if not 1 <= args.months <= MAX_MONTHS:
        print(f"houqin: --months must be from 1 to {MAX_MONTHS}", file=sys.stderr)
        return 2
    try:
        with _session(args) as session:
            draft = drafts.read(session, read_text(args.file), args.file)
            result = simulate(session, draft, months=args.months, seed=args.seed, now=args.clock.now())
    except DefinitionError as exc:
        for problem in exc.problems:
            print(problem)
        return 1
    print(json.dumps(result, ensure_ascii=False, indent=2) if args.json else report.text(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
