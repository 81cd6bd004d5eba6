"""Set-up shared by the benchmarks: a PostgreSQL database of their own, and Django on it."""

import os
import shutil
import subprocess
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
BASELINE = "423e3bb"  # the code before the scale work (issue 16): benches run it beside this tree
REPORT_BASELINE = "6a26271"  # the report before its load was cut down (GC paused, batches, no regex per line)


def postgres_create(url: str) -> None:
    """Create the database named in `url` if the server does not have it yet."""
    import psycopg
    from psycopg import sql

    parts = urlsplit(url)
    name = parts.path.lstrip("/")
    with psycopg.connect(urlunsplit(parts._replace(path="/postgres")), autocommit=True) as connection:
        if not connection.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone():
            connection.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
            print(f"created database {name}")


def django_setup(url: str, *, migrate: bool = True, **env: str) -> None:
    """Django on `url` with DEBUG off (DEBUG keeps every query in memory), migrated unless told not to."""
    os.environ.update(DATABASE_URL=url, DJANGO_DEBUG="0", **env)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    import django

    django.setup()
    if migrate:
        from django.core.management import call_command

        call_command("migrate", verbosity=0)


def baseline_tree(revision: str) -> Path:
    """The code of `revision`, extracted once under var/ (no checkout, no worktree: the repository is untouched)."""
    tree = ROOT / "var" / f"bench-baseline-{revision}"
    if not tree.exists():
        partial = tree.with_name(tree.name + ".partial")
        shutil.rmtree(partial, ignore_errors=True)
        partial.mkdir(parents=True)
        archive = subprocess.run(["git", "-C", str(ROOT), "archive", revision], capture_output=True, check=True)
        subprocess.run(["tar", "-x", "-C", str(partial)], input=archive.stdout, check=True)
        partial.rename(tree)
    return tree


def box_busy_seconds() -> float:
    """CPU seconds every process of the machine has spent so far (from /proc/stat): the difference over a run, next
    to the run's own CPU, shows what the database spent beside it and whether all cores were busy."""
    fields = [int(value) for value in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = fields[3] + fields[4]  # idle and iowait
    return (sum(fields[:8]) - idle) / os.sysconf("SC_CLK_TCK")
