#!/usr/bin/env python3
"""Fault trials for `plugin-host pipeline` (issue 9): crash a pipeline at a random moment,
re-run it from the same state file until it succeeds, then compare the destination with the
source in SQL (lost, duplicated and wrong rows) and count the runs that hung.

Run it through scripts/fault-trials.sh, which builds the binaries and starts the embedded
server; this script needs only Python 3's standard library, `psql` on PATH and the PG*
variables of a superuser. See README.md, "Fault trials".
"""
import argparse
import json
import os
import random
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time

VARIANTS = {
    "host-group": "SIGKILL of plugin-host's process group (the plugins, each in its own group, are orphaned)",
    "host-tree": "SIGKILL of plugin-host and both plugins at once (a machine or container crash)",
    "source-kill": "SIGKILL of the source plugin",
    "destination-kill": "SIGKILL of the destination plugin",
    "source-backend": "pg_terminate_backend of the source's sessions",
    "destination-backend": "pg_terminate_backend of the destination's sessions",
}
DEFAULT_VARIANTS = ["host-group", "source-kill", "destination-kill", "source-backend", "destination-backend"]
# What each fault hits: a trial draws its moment within the time the clean run saw it.
TARGETS = {"host-group": "run", "host-tree": "run", "source-kill": "source-plugin", "destination-kill": "destination-plugin",
           "source-backend": "source-sessions", "destination-backend": "destination-sessions"}
MODES = ["append", "upsert", "mirror", "replace"]
READS = ["full", "incremental", "cdc"]
# Change data capture applies by key: its streams are written in upsert only.
CDC_MODES = ["upsert"]
# An incremental read sends part of the stream, and plugin-host refuses mirror and replace on it.
WHOLE_STREAM_MODES = ["mirror", "replace"]
MARKER = "SLUICE_FAULT_TRIAL"
COLUMNS = "id, name, amount, at, doc"

SEED_SQL = """
CREATE SCHEMA faults;
CREATE TABLE faults.items (id bigint PRIMARY KEY, name text NOT NULL, amount numeric, at timestamptz NOT NULL, doc jsonb);
INSERT INTO faults.items
SELECT g,
       'item ' || g || E' \\u2713 "q"\\t' || md5(g::text) || repeat('x', (g % 13)::int),
       CASE WHEN g % 97 = 0 THEN NULL ELSE (CASE WHEN g % 2 = 0 THEN -1 ELSE 1 END) * round(g::numeric / 7, 12) END,
       timestamptz '2026-01-01 00:00:00+00' + g * interval '1.000123 second',
       CASE WHEN g % 89 = 0 THEN NULL ELSE jsonb_build_object('k', g, 'h', md5(g::text), 'a', jsonb_build_array(g % 10, g % 3 = 0, g::numeric / 4)) END
FROM generate_series(1, {rows}) AS g;
ANALYZE faults.items;
CREATE SCHEMA faults_check;
CREATE UNLOGGED TABLE faults_check.landed (id bigint, name text, amount numeric, at timestamptz, doc jsonb);
"""

# Append cannot duplicate into a table with a primary key (the re-run would fail on the key
# instead), so its destination table is created beforehand without one.
APPEND_TABLE_SQL = """
CREATE SCHEMA faults;
CREATE TABLE faults.items (id bigint, name text, amount numeric, at timestamptz, doc jsonb);
"""

# --prefilled: a stale copy of every row, so that upsert and mirror update each one (by staging).
PREFILLED_TABLE_SQL = """
CREATE SCHEMA faults;
CREATE TABLE faults.items (id bigint PRIMARY KEY, name text NOT NULL, amount numeric, at timestamptz NOT NULL, doc jsonb);
"""

COMPARE_SQL = """
ANALYZE faults_check.landed;
SELECT (SELECT count(*) FROM faults.items s WHERE NOT EXISTS (SELECT 1 FROM faults_check.landed d WHERE d.id = s.id)),
       (SELECT coalesce(sum(n - 1), 0) FROM (SELECT count(*) AS n FROM faults_check.landed GROUP BY id HAVING count(*) > 1) AS x),
       (SELECT count(DISTINCT d.id) FROM faults_check.landed d JOIN faults.items s USING (id)
         WHERE (s.name, s.amount, s.at, s.doc) IS DISTINCT FROM (d.name, d.amount, d.at, d.doc)),
       (SELECT count(*) FROM faults_check.landed d WHERE d.id IS NULL OR NOT EXISTS (SELECT 1 FROM faults.items s WHERE s.id = d.id)),
       (SELECT coalesce(min(n), 0) || ':' || coalesce(max(n), 0) FROM (SELECT count(*) AS n FROM faults_check.landed GROUP BY id) AS c);
"""


# The changes a CDC trial's writer makes while the pipeline runs, one transaction per call:
# new keys, updated rows (some with a TOASTed name, so later updates of other columns leave it
# unchanged in the WAL), and deletes. Every value is derived so that the compare can check it.
WRITER_SQL = """
BEGIN;
INSERT INTO faults.items
SELECT g, 'new ' || g, g::numeric / 3, timestamptz '2027-01-01 00:00:00+00' + g * interval '1 second', jsonb_build_object('new', g)
FROM generate_series({next}, {next} + 2) AS g;
UPDATE faults.items SET name = (SELECT string_agg(md5(id::text || x::text), '') FROM generate_series(1, 150) AS x)
 WHERE id = {big};
UPDATE faults.items SET amount = coalesce(amount, 0) + 1, doc = jsonb_build_object('updated', {step}) WHERE id IN ({a}, {b}, {big});
DELETE FROM faults.items WHERE id = {gone};
COMMIT;
"""


WRITER_NAME = "sluice_fault_writer"
# The sessions a backend fault ends, and whose presence the watched clean run records: the
# plugins' (queries and, for CDC, the WAL sender), not the trial's writer or its own psql.
PLUGIN_SESSIONS = ("backend_type IN ('client backend', 'walsender') AND application_name <> '%s' AND pid <> pg_backend_pid()"
                   % WRITER_NAME)


def log(message):
    print(message, file=sys.stderr, flush=True)


def quote_ident(name):
    return '"' + name.replace('"', '""') + '"'


def quote_literal(text):
    return "'" + text.replace("'", "''") + "'"


def psql(database, sql, stdin=None, check=True):
    """Runs `sql` in `database` and returns its unaligned output."""
    result = subprocess.run(["psql", "-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-d", database, "-c", sql],
                            stdin=stdin, capture_output=True, text=True)
    if check and result.returncode != 0:
        raise RuntimeError("psql failed in %s: %s" % (database, result.stderr.strip()))
    return result.stdout.strip() if result.returncode == 0 else None


def psql_script(database, sql):
    result = subprocess.run(["psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", "-d", database],
                            input=sql, capture_output=True, text=True)
    if result.returncode != 0:
        raise RuntimeError("psql failed in %s: %s" % (database, result.stderr.strip()))


def pipe_copy(source, query, target, statements):
    """Pipes `COPY (query) TO STDOUT` in database `source` into `statements` (a COPY … FROM STDIN
    among them) in database `target`; returns the error, or None."""
    exporter = subprocess.Popen(["psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", "-d", source, "-c",
                                 "COPY (%s) TO STDOUT" % query], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    loader = subprocess.run(["psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", "-d", target]
                            + [arg for statement in statements for arg in ("-c", statement)],
                            stdin=exporter.stdout, capture_output=True, text=True)
    exporter.stdout.close()
    export_error = exporter.stderr.read().decode(errors="replace").strip()
    if exporter.wait() != 0 or loader.returncode != 0:
        return export_error or loader.stderr.strip()
    return None


def marked_processes(token):
    """The processes whose environment carries this attempt's marker: plugin-host and the
    plugins it started (even once orphaned), as (pid, argv[0])."""
    needle = ("%s=%s" % (MARKER, token)).encode()
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open("/proc/%s/environ" % entry, "rb") as f:
                if needle not in f.read().split(b"\0"):
                    continue
            with open("/proc/%s/cmdline" % entry, "rb") as f:
                argv0 = f.read().split(b"\0")[0].decode(errors="replace")
        except (OSError, ValueError):
            continue
        found.append((int(entry), argv0))
    return found


def kill_pids(pids):
    for pid in pids:
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass


class Attempt:
    """One run of `plugin-host pipeline`, in its own session, marked through its environment."""

    def __init__(self, argv, token, log_path):
        self.token = token
        self.log_path = log_path
        env = dict(os.environ)
        env[MARKER] = token
        self.stdout = open(log_path + ".out", "w")
        self.stderr = open(log_path + ".err", "w")
        self.started = time.monotonic()
        self.proc = subprocess.Popen(argv, env=env, stdout=self.stdout, stderr=self.stderr, start_new_session=True)

    def running(self):
        return self.proc.poll() is None

    def role_pids(self, role):
        suffix = "/%s/postgres-plugin" % role
        return [pid for pid, argv0 in marked_processes(self.token) if argv0.endswith(suffix)]

    def wait(self, timeout):
        """The exit code, or None when it did not end within `timeout` (then it is killed)."""
        try:
            return self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.kill_all()
            self.proc.wait()
            return None

    def wait_orphans(self, timeout):
        """Waits for the processes of this attempt that outlived plugin-host; True if they ended
        by themselves, False if they had to be killed."""
        deadline = time.monotonic() + timeout
        while marked_processes(self.token):
            if time.monotonic() > deadline:
                self.kill_all()
                return False
            time.sleep(0.1)
        return True

    def kill_all(self):
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        kill_pids(pid for pid, _ in marked_processes(self.token))

    def close(self):
        self.stdout.close()
        self.stderr.close()

    def summary(self):
        try:
            with open(self.log_path + ".out") as f:
                return json.load(f)
        except (OSError, ValueError):
            return None

    def stderr_tail(self, lines=4):
        try:
            with open(self.log_path + ".err", errors="replace") as f:
                return " | ".join(line.strip() for line in f.readlines()[-lines:])
        except OSError:
            return ""


def lsn_value(text):
    """An LSN (`X/Y`, hexadecimal) as an integer."""
    high, low = text.split("/")
    return (int(high, 16) << 32) | int(low, 16)


class ChangeWriter:
    """Changes the source table in small transactions while a CDC trial's runs go on."""

    def __init__(self, trials):
        self.trials = trials
        self.stopping = threading.Event()
        self.thread = threading.Thread(target=self.loop, daemon=True)
        self.transactions = 0
        self.errors = []

    def start(self):
        self.thread.start()
        return self

    def loop(self):
        t = self.trials
        while not self.stopping.is_set():
            first = t.next_id
            t.next_id += 3
            pick = lambda: t.rng_writer.randint(1, t.o.rows)
            sql = WRITER_SQL.format(next=first, big=pick(), a=pick(), b=pick(), gone=pick(), step=self.transactions)
            result = subprocess.run(["psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", "-d", t.source_db], input=sql,
                                    capture_output=True, text=True, env=dict(os.environ, PGAPPNAME=WRITER_NAME))
            if result.returncode == 0:
                self.transactions += 1
            else:
                self.errors.append(result.stderr.strip())
                time.sleep(0.1)
            self.stopping.wait(0.01)

    def stop(self):
        self.stopping.set()
        self.thread.join()


class SetupFailure(Exception):
    """A clean run failed: the trials would measure nothing."""


class Trials:
    def __init__(self, options):
        self.o = options
        self.rng = random.Random(options.seed)
        self.work = tempfile.mkdtemp(prefix="sluice-faults-")
        tag = "%d_%d" % (os.getpid(), int(time.time()) % 100000)
        self.source_db = "sluice_faults_%s_src" % tag
        self.destination_db = "sluice_faults_%s_dst" % tag
        self.slot = "sluice_faults_%s" % tag
        self.next_id = options.rows + 1
        self.rng_writer = random.Random(options.seed + 1)
        self.current = None
        self.results = []
        self.durations = {}
        self.windows = {}
        for role in ("source", "destination"):
            os.makedirs(os.path.join(self.work, role))
            os.symlink(os.path.join(options.bin, "postgres-plugin"), os.path.join(self.work, role, "postgres-plugin"))
        self.write_configs()

    # Set-up

    def write_configs(self):
        connection = "host: ${PGHOST}\nport: ${PGPORT}\nuser: ${PGUSER}\npassword: ${PGPASSWORD}\n"
        source_extra = "".join("%s: %s\n" % setting for setting in self.o.source_setting)
        with open(os.path.join(self.work, "source.yaml"), "w") as f:
            # Resumable whatever the table's size (a kill lands between mid-stream states), unless
            # --source-setting resumable_read_min_bytes=N says otherwise (one pass under N bytes).
            one_pass = any(key == "resumable_read_min_bytes" for key, _ in self.o.source_setting)
            f.write(connection + "database: %s\nschemas: [faults]\nbatch_size: %d\ncheckpoint_interval: 0\n" % (self.source_db, self.o.batch_size)
                    + ("" if one_pass else "resumable_read_min_bytes: 0\n") + source_extra)
        with open(os.path.join(self.work, "destination.yaml"), "w") as f:
            f.write(connection + "database: %s\nschema: faults\n" % self.destination_db
                    + "".join("%s: %s\n" % setting for setting in self.o.destination_setting))
        with open(os.path.join(self.work, "source-cdc.yaml"), "w") as f:
            f.write(connection + "database: %s\nschemas: [faults]\nbatch_size: %d\ncheckpoint_interval: 0\ncdc_slot: %s\ncdc_publication: %s\n"
                    % (self.source_db, self.o.batch_size, self.slot, self.slot) + source_extra)
        with open(os.path.join(self.work, "incremental.json"), "w") as f:
            json.dump({"streams": [{"namespace": "faults", "name": "items", "sync_mode": "incremental", "cursor": "at"}]}, f)
        with open(os.path.join(self.work, "cdc.json"), "w") as f:
            json.dump({"streams": [{"namespace": "faults", "name": "items", "sync_mode": "cdc"}]}, f)

    def drop_stale(self):
        """Drops the databases of earlier runs of this script that died without cleaning up
        (their process is gone)."""
        names = psql("postgres", "SELECT datname FROM pg_database WHERE datname ~ '^sluice_faults_[0-9]+_[0-9]+_(src|dst)$'")
        for name in (names or "").split("\n"):
            if name and not os.path.exists("/proc/%s" % name.split("_")[2]):
                log("dropping %s, left by an earlier run" % name)
                self.drop_slots(name)
                psql("postgres", "DROP DATABASE IF EXISTS %s WITH (FORCE)" % quote_ident(name))

    def seed(self):
        psql("postgres", "DROP DATABASE IF EXISTS %s WITH (FORCE)" % quote_ident(self.source_db))
        psql("postgres", "CREATE DATABASE %s" % quote_ident(self.source_db))
        psql_script(self.source_db, SEED_SQL.replace("{rows}", str(self.o.rows)))

    def drop_slots(self, database):
        """Drops the replication slots of `database` (a slot keeps its database from being
        dropped), waiting for a slot a killed run's process still holds to be released."""
        deadline = time.monotonic() + 60
        query = "SELECT count(*) FROM pg_replication_slots WHERE database = %s" % quote_literal(database)
        while int(psql("postgres", query, check=False) or 0) > 0 and time.monotonic() < deadline:
            psql("postgres", "SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE database = %s AND NOT active"
                 % quote_literal(database), check=False)
            time.sleep(0.2)

    def slot_check(self, record):
        """After a CDC run: the slot's confirmed position must not be past the last state the
        destination committed (else the server may discard changes the destination lacks)."""
        confirmed = psql(self.source_db, "SELECT confirmed_flush_lsn FROM pg_replication_slots WHERE slot_name = %s"
                         % quote_literal(self.slot), check=False)
        states = psql(self.destination_db, "SELECT convert_from(state, 'UTF8') FROM faults._sluice_state", check=False)
        # The state is JSON text, which may escape the LSN's slash as \/.
        committed = [lsn_value(high + "/" + low)
                     for high, low in re.findall(r'"lsn"\s*:\s*"([0-9A-Fa-f]+)\\?/([0-9A-Fa-f]+)"', states or "")]
        if not confirmed or not committed:
            return
        record["slot_checks"] += 1
        if lsn_value(confirmed) > max(committed):
            record["slot_ahead"] += 1
            record["notes"].append("slot confirmed %s, past the destination's committed state" % confirmed)

    def fresh_destination(self, mode):
        psql("postgres", "DROP DATABASE IF EXISTS %s WITH (FORCE)" % quote_ident(self.destination_db))
        psql("postgres", "CREATE DATABASE %s" % quote_ident(self.destination_db))
        if mode == "append":
            psql_script(self.destination_db, APPEND_TABLE_SQL)
        elif self.o.prefilled:
            psql_script(self.destination_db, PREFILLED_TABLE_SQL)
            error = pipe_copy(self.source_db, "SELECT id, 'stale ' || name, amount, at, doc FROM faults.items",
                              self.destination_db, ["COPY faults.items FROM STDIN", "ANALYZE faults.items"])
            if error is not None:
                raise SystemExit("fault trials: could not prefill the destination: " + error)

    def cleanup(self):
        if self.current is not None:
            self.current.kill_all()
        if not self.o.keep:
            self.drop_slots(self.source_db)
            psql(self.source_db, "DROP PUBLICATION IF EXISTS %s" % quote_ident(self.slot), check=False)
            for database in (self.source_db, self.destination_db):
                psql("postgres", "DROP DATABASE IF EXISTS %s WITH (FORCE)" % quote_ident(database), check=False)
            shutil.rmtree(self.work, ignore_errors=True)
        else:
            log("kept: databases %s, %s; logs in %s" % (self.source_db, self.destination_db, self.work))

    # Runs

    def argv(self, mode, read, state):
        argv = [os.path.join(self.o.bin, "plugin-host"), "pipeline",
                "--source", os.path.join(self.work, "source", "postgres-plugin"),
                "--source-config", os.path.join(self.work, "source-cdc.yaml" if read == "cdc" else "source.yaml"),
                "--destination", os.path.join(self.work, "destination", "postgres-plugin"),
                "--destination-config", os.path.join(self.work, "destination.yaml"),
                "--write-mode", mode, "--state", state, "--retry-delay", str(self.o.retry_delay)]
        if read in ("incremental", "cdc"):
            argv += ["--catalog", os.path.join(self.work, read + ".json")]
        return argv

    def start(self, name, mode, read, state):
        self.current = Attempt(self.argv(mode, read, state), "%d-%s" % (os.getpid(), name), os.path.join(self.work, name))
        return self.current

    def finish(self, attempt, record):
        """Waits for an attempt and for any process of it that outlived plugin-host."""
        code = attempt.wait(self.hang_timeout(record))
        if code is None:
            record["hangs"] += 1
            record["notes"].append("attempt %d hung and was killed" % len(record["exit_codes"]))
        elif not attempt.wait_orphans(self.o.orphan_timeout):
            record["hangs"] += 1
            record["notes"].append("attempt %d: a plugin outlived plugin-host by %ds and was killed" % (len(record["exit_codes"]), self.o.orphan_timeout))
        attempt.close()
        self.current = None
        record["exit_codes"].append(code)
        if code is not None and code != 0:
            record["notes"].append("attempt %d exit %d: %s" % (len(record["exit_codes"]), code, attempt.stderr_tail(2)))
        if record["read"] == "cdc":
            self.slot_check(record)
        summary = attempt.summary() if code == 0 else None
        if summary:
            record["host_retries"] += max(0, int(summary.get("attempts", 1)) - 1)
        return code

    def hang_timeout(self, record):
        if record["variant"] == "none":
            return 3 * self.o.hang_timeout
        return max(self.o.hang_timeout, 4 * self.clean_duration(record["mode"], record["read"]))

    def clean_duration(self, mode, read):
        """The median of the last three runs without a fault (the clean runs, then the trials
        whose fault missed) of this mode and read."""
        recent = sorted(self.durations[(mode, read)][-3:])
        return recent[len(recent) // 2]

    def inject(self, variant, attempt):
        """Applies the fault; True if it hit something running."""
        if not attempt.running():
            return False
        if variant == "host-group":
            os.killpg(attempt.proc.pid, signal.SIGKILL)
            return True
        if variant == "host-tree":
            attempt.kill_all()
            return True
        if variant in ("source-kill", "destination-kill"):
            pids = attempt.role_pids(variant.split("-")[0])
            kill_pids(pids)
            return bool(pids)
        database = self.source_db if variant == "source-backend" else self.destination_db
        terminated = psql("postgres", "SELECT count(*) FILTER (WHERE pg_terminate_backend(pid)) FROM pg_stat_activity "
                                      "WHERE datname = %s AND " % quote_literal(database) + PLUGIN_SESSIONS)
        return int(terminated or 0) > 0

    def trial(self, variant, mode, read, number):
        record = {"variant": variant, "mode": mode, "read": read, "trial": number, "landed": False, "delay": 0.0,
                  "exit_codes": [], "hangs": 0, "host_retries": 0, "notes": [], "slot_checks": 0, "slot_ahead": 0}
        self.fresh_destination(mode)
        name = "%s-%s-%s-%d" % (variant, mode, read, number)
        state = os.path.join(self.work, name + ".state.json")
        writer = None
        if read == "cdc":
            self.drop_slots(self.source_db)
            writer = ChangeWriter(self).start()
        try:
            self.attempts(record, variant, mode, read, number, name, state)
        finally:
            if writer:
                writer.stop()
        if writer:
            record["changes"] = writer.transactions
            record["notes"] += ["writer: " + e for e in writer.errors[:3]]
            if record["exit_codes"][-1] == 0:
                # The writer's last transactions may be past where the bounded run stopped:
                # one more run catches up before the compare.
                self.finish(self.start(name + "-catch-up", mode, read, state), record)
        record["failed"] = record["exit_codes"][-1] != 0
        record.update(self.compare())
        if not record["failed"]:
            missing = self.metadata_missing()
            if missing:
                record["wrong"] += missing
                record["notes"].append("%d rows without their metadata values" % missing)
        record["next_sync"] = 0
        if record.get("whole_before_rerun") and record["copies"] == (2, 2) and not (record["lost"] or record["wrong"] or record["unexpected"]):
            # Exactly one more copy of every row: the rerun's own sync, not a re-delivery.
            record["next_sync"], record["duplicated"] = record["duplicated"], 0
            record["notes"].append("the fault landed after the sync had committed every row: "
                                   "the rerun was the next full refresh, which appended one whole copy")
        return record

    def attempts(self, record, variant, mode, read, number, name, state):
        """The trial's faulted run, then re-runs from its state until one exits 0."""
        if variant == "none":
            attempt = self.start(name + "-1", mode, read, state)
            if number == 1:
                self.windows[(mode, read)] = self.observe(attempt)
            self.finish(attempt, record)
            record["seconds"] = time.monotonic() - attempt.started
        else:
            first, last = self.windows[(mode, read)].get(TARGETS[variant], (0, 1))
            clean = self.clean_duration(mode, read)
            record["delay"] = round(self.rng.uniform(first * clean, last * clean), 3)
            attempt = self.start(name + "-1", mode, read, state)
            deadline = attempt.started + record["delay"]
            while attempt.running() and time.monotonic() < deadline:
                time.sleep(min(0.02, max(0, deadline - time.monotonic())))
            # A plugin not started yet or a side without a session yet is tried again until the
            # run ends, so that the fault lands at the first moment it can after the delay.
            while not record["landed"] and attempt.running():
                record["landed"] = self.inject(variant, attempt)
                if not record["landed"]:
                    time.sleep(0.02)
            record["landed_at"] = round(time.monotonic() - attempt.started, 3)
            self.finish(attempt, record)
            if record["exit_codes"][-1] != 0 and mode == "append" and read == "full":
                # A fault after the last commit leaves a whole sync behind (every row once): the
                # rerun is then the next sync, which appends a whole copy again.
                landed = self.compare()
                record["whole_before_rerun"] = (landed["lost"], landed["duplicated"], landed["wrong"], landed["unexpected"]) == (0, 0, 0, 0)
            if not record["landed"] and record["exit_codes"] == [0]:
                # A run the fault missed is a clean run too: the estimate follows the machine's load.
                self.durations[(mode, read)].append(record["landed_at"])
        while record["exit_codes"][-1] != 0 and len(record["exit_codes"]) <= self.o.reruns:
            self.finish(self.start("%s-%d" % (name, len(record["exit_codes"]) + 1), mode, read, state), record)

    def observe(self, attempt):
        """Watches a clean run: when each fault's target (a plugin, a side's sessions) was first
        and last seen, as fractions of the run, so that trials draw their fault moment within
        its lifetime. Watching slows the run, so its duration comes from a second clean run."""
        seen = {}
        sources, destinations = "/source/postgres-plugin", "/destination/postgres-plugin"
        query = ("SELECT count(*) FILTER (WHERE datname = %s), count(*) FILTER (WHERE datname = %s) FROM pg_stat_activity "
                 "WHERE " % (quote_literal(self.source_db), quote_literal(self.destination_db)) + PLUGIN_SESSIONS)
        while attempt.running():
            now = time.monotonic() - attempt.started
            plugins = [argv0 for _, argv0 in marked_processes(attempt.token)]
            present = {"source-plugin": any(a.endswith(sources) for a in plugins),
                       "destination-plugin": any(a.endswith(destinations) for a in plugins)}
            counts = (psql("postgres", query, check=False) or "0|0").split("|")
            present["source-sessions"] = int(counts[0]) > 0
            present["destination-sessions"] = int(counts[1]) > 0
            for target, there in present.items():
                if there:
                    seen[target] = (seen.get(target, (now, now))[0], now)
            time.sleep(0.1)
        seconds = time.monotonic() - attempt.started
        return {target: (first / seconds, last / seconds) for target, (first, last) in seen.items()} | {"run": (0, 1)}

    def metadata_missing(self):
        """After a sync that ended well: its rows without their metadata values (`_sluice_synced_at`,
        `_sluice_source`; a table the Write created gets those columns with its primary key, the
        rows already in taking their values then), or every row when the table lacks the columns."""
        if any(key == "metadata_columns" and value.strip().lower() == "false" for key, value in self.o.destination_setting):
            return 0
        columns = psql(self.destination_db, "SELECT count(*) FROM pg_attribute WHERE attrelid = to_regclass('faults.items') "
                                            "AND attname IN ('_sluice_synced_at', '_sluice_source') AND NOT attisdropped")
        if columns != "2":
            return int(psql(self.destination_db, "SELECT count(*) FROM faults.items"))
        return int(psql(self.destination_db, "SELECT count(*) FROM faults.items WHERE _sluice_synced_at IS NULL OR _sluice_source IS NULL"))

    def compare(self):
        """Copies the destination's rows into the source database and compares them there."""
        error = pipe_copy(self.destination_db, "SELECT %s FROM faults.items" % COLUMNS,
                          self.source_db, ["TRUNCATE faults_check.landed", "COPY faults_check.landed FROM STDIN"])
        if error is not None:
            return {"lost": self.o.rows, "duplicated": 0, "wrong": 0, "unexpected": 0, "copies": (0, 0), "compare_error": error}
        *counts, copies = psql(self.source_db, COMPARE_SQL).split("|")
        lost, duplicated, wrong, unexpected = (int(v) for v in counts)
        return {"lost": lost, "duplicated": duplicated, "wrong": wrong, "unexpected": unexpected,
                "copies": tuple(int(v) for v in copies.split(":"))}

    # Driving

    def run(self):
        o = self.o
        log("fault trials: %d rows, source batch_size %d, %d trial(s) per variant, seed %d, binaries %s"
            % (o.rows, o.batch_size, o.trials, o.seed, o.bin))
        started = time.monotonic()
        self.drop_stale()
        self.seed()
        log("seeded %s.faults.items in %.1f s" % (self.source_db, time.monotonic() - started))
        for read in o.reads:
            for mode in o.modes_of(read):
                for number in (1, 2):
                    record = self.trial("none", mode, read, number)
                    if number > 1:  # the first, watched, runs slower
                        self.durations.setdefault((mode, read), []).append(record["seconds"])
                    self.results.append(record)
                    if record["failed"]:
                        raise SetupFailure("the clean run %s/%s failed (%s); fix that before trying faults"
                                           % (mode, read, "; ".join(record["notes"][-1:])))
                    log("clean run %s/%s #%d: %.1f s, exit %s, lost %d, duplicated %d, wrong %d%s"
                        % (mode, read, number, record["seconds"], record["exit_codes"][-1], record["lost"],
                           record["duplicated"], record["wrong"] + record["unexpected"],
                           "" if number > 1 else "; targets seen (fraction of the run): " + ", ".join(
                               "%s %.2f-%.2f" % (k, v[0], v[1]) for k, v in sorted(self.windows[(mode, read)].items()))))
        total = o.trials * len(o.variants) * sum(len(o.modes_of(read)) for read in o.reads)
        done = 0
        for number in range(1, o.trials + 1):
            for read in o.reads:
                for mode in o.modes_of(read):
                    for variant in o.variants:
                        record = self.trial(variant, mode, read, number)
                        self.results.append(record)
                        done += 1
                        log("[%d/%d] %s %s/%s #%d: fault at %.2f s%s, runs %s, lost %d, duplicated %d, wrong %d, hangs %d%s"
                            % (done, total, variant, mode, read, number, record.get("landed_at", 0),
                               "" if record["landed"] else " (missed: the run ended first)",
                               ",".join("hang" if c is None else str(c) for c in record["exit_codes"]),
                               record["lost"], record["duplicated"], record["wrong"] + record["unexpected"], record["hangs"],
                               "" if not record["failed"] else " FAILED"))
        log("%d trials in %.0f s" % (done, time.monotonic() - started))


def cell(records, key):
    rows = sum(r[key] for r in records)
    hit = sum(1 for r in records if r[key])
    return "0" if rows == 0 else "%d (%d)" % (rows, hit)


def table(results, options):
    groups = {}
    for record in results:
        groups.setdefault((record["variant"], record["mode"], record["read"]), []).append(record)
    for record in results:
        record["wrong_values"] = record["wrong"] + record["unexpected"]
    header = ["variant", "mode", "read", "trials", "landed", "reruns", "host retries", "lost", "duplicated",
              "wrong values", "hangs", "failed"]
    cdc = any(r["read"] == "cdc" for r in results)
    if cdc:
        header += ["changes", "slot checks", "slot ahead"]
    next_sync = any(r["next_sync"] for r in results)
    if next_sync:
        header += ["next sync"]
    rows = []
    order = ["none"] + options.variants
    for (variant, mode, read), records in sorted(groups.items(), key=lambda g: (options.reads.index(g[0][2]),
                                                                                 options.modes.index(g[0][1]),
                                                                                 order.index(g[0][0]))):
        rows.append([variant if variant != "none" else "none (clean)", mode, read, str(len(records)),
                     str(sum(r["landed"] for r in records)),
                     str(sum(len(r["exit_codes"]) - 1 for r in records)),
                     str(sum(r["host_retries"] for r in records)),
                     cell(records, "lost"), cell(records, "duplicated"), cell(records, "wrong_values"),
                     str(sum(r["hangs"] for r in records)), str(sum(r["failed"] for r in records))]
                    + ([str(sum(r.get("changes", 0) for r in records)), str(sum(r["slot_checks"] for r in records)),
                        str(sum(r["slot_ahead"] for r in records))] if cdc else [])
                    + ([cell(records, "next_sync")] if next_sync else []))
    widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(header)]
    lines = ["| " + " | ".join(h.ljust(w) for h, w in zip(header, widths)) + " |",
             "|" + "|".join("-" * (w + 2) for w in widths) + "|"]
    lines += ["| " + " | ".join(c.ljust(w) for c, w in zip(r, widths)) + " |" for r in rows]
    return "\n".join(lines)


def verdict(results, options):
    problems = []
    for r in results:
        label = "%s %s/%s #%d" % (r["variant"], r["mode"], r["read"], r["trial"])
        if r["lost"]:
            problems.append("%s: %d rows lost" % (label, r["lost"]))
        if r["duplicated"] and not (options.allow_append_duplicates and r["mode"] == "append"):
            problems.append("%s: %d rows duplicated" % (label, r["duplicated"]))
        if r["wrong"] or r["unexpected"]:
            problems.append("%s: %d wrong values, %d unexpected keys" % (label, r["wrong"], r["unexpected"]))
        if r["hangs"]:
            problems.append("%s: %d hang(s)" % (label, r["hangs"]))
        if r["slot_ahead"]:
            problems.append("%s: the slot confirmed past the destination's committed state after %d run(s)" % (label, r["slot_ahead"]))
        if r["failed"]:
            problems.append("%s: no run succeeded in %d" % (label, len(r["exit_codes"])))
    return problems


def parse_list(text, allowed, what):
    values = list(allowed) if text == "all" else [v for v in text.split(",") if v]
    unknown = [v for v in values if v not in allowed]
    if unknown or not values:
        raise argparse.ArgumentTypeError("unknown %s %s (choose from %s, or all)" % (what, ",".join(unknown), ",".join(allowed)))
    return values


def setting(text):
    """A `KEY=VALUE` option: one line `KEY: VALUE` of a plugin's YAML configuration."""
    key, equals, value = text.partition("=")
    if not equals or not re.fullmatch(r"[a-z_]+", key) or not value or "\n" in value:
        raise argparse.ArgumentTypeError("expected KEY=VALUE (a lowercase setting name and a YAML value on one line), not %r" % text)
    return key, value


def main():
    parser = argparse.ArgumentParser(description="Fault trials for plugin-host pipeline: crash at random moments, "
                                                 "re-run from the state file, count lost, duplicated and wrong rows.")
    parser.add_argument("--bin", required=True, help="the folder holding plugin-host and postgres-plugin")
    parser.add_argument("--trials", type=int, help="trials per variant, mode and read (default 10; --quick 2)")
    parser.add_argument("--rows", type=int, help="rows in the source table (default 300000; --quick 20000)")
    parser.add_argument("--batch-size", type=int, help="the source's batch_size, one state per batch (default 2000; --quick 1000)")
    parser.add_argument("--variants", default=",".join(DEFAULT_VARIANTS),
                        type=lambda t: parse_list(t, VARIANTS, "variant"),
                        help="comma-separated faults, or all: " + "; ".join("%s: %s" % kv for kv in VARIANTS.items())
                             + " (default: all but host-tree)")
    parser.add_argument("--modes", default=",".join(MODES), type=lambda t: parse_list(t, MODES, "mode"),
                        help="comma-separated write modes (default: %s)" % ",".join(MODES))
    parser.add_argument("--reads", default="full", type=lambda t: parse_list(t, READS, "read"),
                        help="comma-separated: full (refresh), incremental (cursor `at`), cdc (change data capture, upsert only, "
                             "with a writer changing the source during the runs), or all (default full)")
    parser.add_argument("--seed", type=int, help="seed of the random fault moments (default: random, printed)")
    parser.add_argument("--source-setting", action="append", default=[], type=setting, metavar="KEY=VALUE",
                        help="another line of the source's configuration (YAML), e.g. split_tables=true (repeatable)")
    parser.add_argument("--destination-setting", action="append", default=[], type=setting, metavar="KEY=VALUE",
                        help="another line of the destination's configuration (YAML), e.g. transaction_scope=flush (repeatable)")
    parser.add_argument("--prefilled", action="store_true",
                        help="upsert and mirror start from a destination holding a stale copy of every row, so that "
                             "each row is updated (through staging) rather than loaded into a new table")
    parser.add_argument("--quick", action="store_true", help="the short CI version: 2 trials, 20000 rows, batch_size 1000")
    parser.add_argument("--reruns", type=int, default=5, help="re-runs after a failed run before the trial counts as failed (default 5)")
    parser.add_argument("--hang-timeout", type=float, default=120,
                        help="seconds a run may take before it counts as a hang and is killed (at least 4x the clean run; default 120)")
    parser.add_argument("--orphan-timeout", type=float, default=30,
                        help="seconds a plugin may outlive plugin-host before it counts as a hang (default 30)")
    parser.add_argument("--retry-delay", type=float, default=1, help="plugin-host's --retry-delay (default 1)")
    parser.add_argument("--allow-append-duplicates", action="store_true",
                        help="report duplicates in append mode without failing the exit status")
    parser.add_argument("--json", metavar="FILE", help="also write every trial's record as JSON to FILE")
    parser.add_argument("--keep", action="store_true", help="keep the databases and logs for inspection")
    options = parser.parse_args()
    options.bin = os.path.abspath(options.bin)
    written = {"source": {"host", "port", "user", "password", "database", "schemas", "batch_size", "checkpoint_interval", "cdc_slot", "cdc_publication"},
               "destination": {"host", "port", "user", "password", "database", "schema"}}
    for role, settings in (("source", options.source_setting), ("destination", options.destination_setting)):
        for key in sorted({key for key, _ in settings} & written[role]):
            parser.error("--%s-setting %s: the trials set it themselves%s" % (role, key, " (use --batch-size)" if key == "batch_size" else ""))
    options.modes_of = lambda read: (CDC_MODES if read == "cdc" else
                                     [m for m in options.modes if m not in WHOLE_STREAM_MODES] if read == "incremental" else options.modes)
    options.trials = options.trials or (2 if options.quick else 10)
    options.rows = options.rows or (20000 if options.quick else 300000)
    options.batch_size = options.batch_size or (1000 if options.quick else 2000)
    if options.seed is None:
        options.seed = random.SystemRandom().randrange(1, 1 << 31)
    if options.trials < 1 or options.rows < 1 or options.batch_size < 1 or options.reruns < 0:
        parser.error("--trials, --rows and --batch-size must be at least 1, --reruns at least 0")
    for tool in ("plugin-host", "postgres-plugin"):
        if not os.access(os.path.join(options.bin, tool), os.X_OK):
            parser.error("%s not found in %s" % (tool, options.bin))
    if shutil.which("psql") is None:
        parser.error("psql is not on PATH (eval \"$(scripts/pg-server.sh env)\")")

    def interrupted(signum, frame):
        raise KeyboardInterrupt
    signal.signal(signal.SIGTERM, interrupted)
    trials = Trials(options)
    try:
        trials.run()
    except KeyboardInterrupt:
        log("interrupted; results so far:")
    except SetupFailure as failure:
        log("fault trials: %s" % failure)
        return 2
    finally:
        trials.cleanup()
    results = trials.results
    print("Fault trials: %d rows, source batch_size %d, seed %d; cells are rows (trials with any)."
          % (options.rows, options.batch_size, options.seed))
    print(table(results, options))
    if options.json:
        with open(options.json, "w") as f:
            json.dump({"rows": options.rows, "batch_size": options.batch_size, "seed": options.seed, "trials": results}, f, indent=1)
    problems = verdict(results, options)
    notes = [(r, n) for r in results for n in r["notes"]] + [(r, "compare: " + r["compare_error"]) for r in results if r.get("compare_error")]
    for r, note in notes[:20]:
        log("note %s %s/%s #%d: %s" % (r["variant"], r["mode"], r["read"], r["trial"], note))
    if problems:
        log("%d problem(s):" % len(problems))
        for problem in problems[:40]:
            log("  " + problem)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
