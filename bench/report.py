#!/usr/bin/env python3
"""Turns the JSON lines of a `make bench` run into bench/RESULTS.md: medians (with min and
max) over the rounds, the targets with what was measured against each, the peers side by
side, two instances on PostgreSQL beside one on SQLite, the machine, the commands, and
bench/ANALYSIS.md (the profiles behind the misses).

    bench/report.py RUN.jsonl [LATER.jsonl ...]

With several files (`make bench-instances` passes the last full run and its own), a later
file's runs of a scenario replace an earlier file's runs of the same scenario and
parameters; everything else is kept."""

import json
import os
import platform
import statistics
import subprocess
import sys
from collections import defaultdict


def load(path):
    with open(path) as lines:
        return [json.loads(line) for line in lines if line.strip()]


def key(result):
    params = ("clients", "rooms", "rate_per_room", "seconds", "posters", "connections")
    return (result["scenario"], result["target"]) + tuple(result.get(p) for p in params)


def summarize(results):
    groups = defaultdict(list)
    for result in results:
        groups[key(result)].append(result)
    return groups


# Runs from before bench/run.sh recorded the machine, as their RESULTS.md named it.
KNOWN_MACHINES = {
    "20261125T134320Z.jsonl": ", on 2 cores, AMD EPYC, Linux 6.18.44-fc-v782",
    "20261125T165146Z.jsonl": ", on 2 cores, AMD EPYC, Linux 6.18.44-fc-v782",
    "20261201T135626Z-instances.jsonl": ", on 2 cores, Intel(R) Xeon(R) Processor, Linux 6.18.44-fc-v857",
    "20261201T135934Z-instances.jsonl": ", on 2 cores, Intel(R) Xeon(R) Processor, Linux 6.18.44-fc-v857",
    "20261201T140532Z-instances.jsonl": ", on 2 cores, Intel(R) Xeon(R) Processor, Linux 6.18.44-fc-v857",
    "20261201T150618Z-instances.jsonl": ", on 2 cores, Intel(R) Xeon(R) Processor, Linux 6.18.44-fc-v857",
}


def commit_of(results):
    """The commit measured, as bench/run.sh recorded it (not the one reporting)."""
    recorded = [r.get("commit") for r in results if r.get("scenario") == "meta"]
    if recorded:
        return recorded[0]
    return subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True
    ).stdout.strip() + " (at report time)"


def stat(runs, field):
    values = [run[field] for run in runs if isinstance(run.get(field), (int, float))]
    if not values:
        return None
    return statistics.median(values), min(values), max(values)


def fmt(value, digits=1):
    if value is None:
        return "–"
    median, low, high = value
    if low == high:
        return f"{median:,.{digits}f}"
    return f"{median:,.{digits}f} ({low:,.{digits}f}–{high:,.{digits}f})"


def find(groups, scenario, target, **params):
    for group_key, runs in groups.items():
        if group_key[0] != scenario or group_key[1] != target:
            continue
        if all(runs[0].get(name) == value for name, value in params.items()):
            return runs
    return []


def delivered_pct(runs):
    values = [100.0 * run["delivered"] / max(run["expected"], 1) for run in runs]
    return (statistics.median(values), min(values), max(values)) if values else None


def spread(values):
    return (statistics.median(values), min(values), max(values)) if values else None


def remote_delivered_pct(runs):
    """Delivered to the clients of the instances that did not take the post."""
    return spread([100.0 * run["remote_delivered"] / max(run["remote_expected"], 1) for run in runs])


def local_delivered_pct(runs):
    """Delivered to the clients of the instance that took the post."""
    return spread([
        100.0 * (run["delivered"] - run["remote_delivered"])
        / max(run["expected"] - run["remote_expected"], 1)
        for run in runs
    ])


def what_else_ran(notes):
    """How busy the machine was before the runs, and the other programs seen before how many."""
    loads = [note["busy_pct"] for note in notes]
    seen = defaultdict(int)
    for note in notes:
        for entry in filter(None, note.get("others", "").split(", ")):
            seen[entry.split("×")[0]] += 1
    listed = ", ".join(f"{name} before {count} of {len(notes)} runs" for name, count in sorted(seen.items()))
    waits = [note.get("waited_s", 0) for note in notes]
    waited = (f" (after waiting {fmt(spread(waits), 0)} s for a quiet machine, BENCH_QUIET_WAIT)"
              if any(waits) else "")
    return (f"the machine was {fmt(spread(loads), 0)} % busy (both cores, over one second with "
            f"nothing of the bench running) before the {len(notes)} runs{waited}; "
            + (f"other builds, browsers or servers: {listed}" if listed else "no other build, browser or server")
            + "; the tables' others and stolen columns say what ran during each run")


def deployment_section(groups, say):
    """Two instances on PostgreSQL beside one instance on SQLite, at the same load."""
    deployment = find(groups, "instances", "sori", clients=1000, rate_per_room=20)
    single = find(groups, "fanout", "sori", clients=1000, rate_per_room=20)
    pg_posts = find(groups, "instances-posts", "sori")
    sqlite_posts = find(groups, "posts", "sori")
    if not (deployment or pg_posts):
        return
    say("## Two instances on PostgreSQL, beside one on SQLite\n")
    say("Two `sori` processes on one fresh database of a throwaway PostgreSQL 15 "
        "(`scripts/with-postgres.sh`: loopback, fsync off, so a commit survives the process, not "
        "power loss, as SQLite's default `process` durability), with the clients split evenly "
        "over them and a poster on each taking turns. Only the generator is pinned (core 1); the "
        "two instances and PostgreSQL share both cores, as a deployment on one host would. "
        "Other instance: clients of the instance that did not take the post, which get it "
        "through the database and the bus between instances (a hint after commit, then a read). "
        "Duplicates are counted until 2.5 s after posting stopped (past one catch-up round). "
        "Others: what the rest of the machine used during the measured window (its busy time less "
        "the servers', PostgreSQL's and the generator's; the kernel's work on their behalf that is "
        "not charged to them lands here too), as a share of one core of the two; stolen: time the "
        "hypervisor gave these virtual cores to another machine.\n")
    say("| 1,000 clients, one room, 20 posts/s | delivered % | duplicates | deliveries/s | p50 ms | p99 ms | max ms | server core % | PostgreSQL core % | generator core % | others core % | stolen core % |")
    say("|---|---|---|---|---|---|---|---|---|---|---|---|")
    if single:
        say(f"| one instance, SQLite | {fmt(delivered_pct(single), 2)} | {fmt(stat(single, 'duplicates'), 0)} | "
            f"{fmt(stat(single, 'deliveries_per_s'), 0)} | {fmt(stat(single, 'p50_ms'))} | {fmt(stat(single, 'p99_ms'))} | "
            f"{fmt(stat(single, 'max_ms'))} | {fmt(stat(single, 'server_core_pct'), 0)} | – | "
            f"{fmt(stat(single, 'generator_core_pct'), 0)} | {fmt(stat(single, 'others_core_pct'), 0)} | "
            f"{fmt(stat(single, 'stolen_core_pct'), 0)} |")
    if deployment:
        local_rate = spread([r["deliveries_per_s"] - r["remote_deliveries_per_s"] for r in deployment])
        shared = (f"{fmt(stat(deployment, 'instances_core_pct'), 0)} (both) | "
                  f"{fmt(stat(deployment, 'postgres_core_pct'), 0)} | {fmt(stat(deployment, 'generator_core_pct'), 0)} | "
                  f"{fmt(stat(deployment, 'others_core_pct'), 0)} | {fmt(stat(deployment, 'stolen_core_pct'), 0)} |")
        say(f"| two instances, PostgreSQL: clients of the posting instance | {fmt(local_delivered_pct(deployment), 2)} | "
            f"{fmt(spread([r['duplicates'] - r['remote_duplicates'] for r in deployment]), 0)} | {fmt(local_rate, 0)} | "
            f"{fmt(stat(deployment, 'local_p50_ms'))} | {fmt(stat(deployment, 'local_p99_ms'))} | "
            f"{fmt(stat(deployment, 'local_max_ms'))} | {shared}")
        say(f"| two instances, PostgreSQL: clients of the **other** instance | {fmt(remote_delivered_pct(deployment), 2)} | "
            f"{fmt(stat(deployment, 'remote_duplicates'), 0)} | {fmt(stat(deployment, 'remote_deliveries_per_s'), 0)} | "
            f"{fmt(stat(deployment, 'p50_ms'))} | {fmt(stat(deployment, 'p99_ms'))} | {fmt(stat(deployment, 'max_ms'))} | "
            f"{shared}")
        say("")
        say(f"Server CPU per delivery, both instances together: {fmt(stat(deployment, 'instances_us_per_delivery'))} µs "
            f"(PostgreSQL {fmt(stat(deployment, 'postgres_us_per_delivery'))} µs)"
            + (f"; one instance on SQLite: {fmt(stat(single, 'server_us_per_delivery'))} µs." if single else "."))
    say("")
    say("| durable posts, each acknowledged after commit | posts/s | ack p50 ms | ack p99 ms | server CPU µs/post | PostgreSQL CPU µs/post | server core % | PostgreSQL core % | generator core % | others core % | stolen core % |")
    say("|---|---|---|---|---|---|---|---|---|---|---|")
    if sqlite_posts:
        posters = sqlite_posts[0].get("posters")
        say(f"| one instance, SQLite ({posters} posters, one room) | {fmt(stat(sqlite_posts, 'posts_per_s'), 0)} | "
            f"{fmt(stat(sqlite_posts, 'p50_ms'))} | {fmt(stat(sqlite_posts, 'p99_ms'))} | "
            f"{fmt(stat(sqlite_posts, 'server_cpu_us_per_post'), 0)} | – | {fmt(stat(sqlite_posts, 'server_core_pct'), 0)} | – | "
            f"{fmt(stat(sqlite_posts, 'generator_core_pct'), 0)} | {fmt(stat(sqlite_posts, 'others_core_pct'), 0)} | "
            f"{fmt(stat(sqlite_posts, 'stolen_core_pct'), 0)} |")
    if pg_posts:
        first = pg_posts[0]
        say(f"| two instances, PostgreSQL ({first.get('posters')} posters, {first.get('rooms')} rooms) | "
            f"{fmt(stat(pg_posts, 'posts_per_s'), 0)} | {fmt(stat(pg_posts, 'p50_ms'))} | {fmt(stat(pg_posts, 'p99_ms'))} | "
            f"{fmt(stat(pg_posts, 'instances_us_per_post'), 0)} | {fmt(stat(pg_posts, 'postgres_us_per_post'), 0)} | "
            f"{fmt(stat(pg_posts, 'instances_core_pct'), 0)} (both) | {fmt(stat(pg_posts, 'postgres_core_pct'), 0)} | "
            f"{fmt(stat(pg_posts, 'generator_core_pct'), 0)} | {fmt(stat(pg_posts, 'others_core_pct'), 0)} | "
            f"{fmt(stat(pg_posts, 'stolen_core_pct'), 0)} |")
    say("")


def machine():
    model = "unknown"
    try:
        with open("/proc/cpuinfo") as cpuinfo:
            for line in cpuinfo:
                if line.startswith("model name"):
                    model = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    with open("/proc/meminfo") as meminfo:
        memory = int(meminfo.readline().split()[1]) // (1024 * 1024)
    return f"{os.cpu_count()} cores ({model}), {memory} GiB, Linux {platform.release()}"


def main():
    paths = sys.argv[1:]
    if not paths:
        sys.exit("usage: bench/report.py RUN.jsonl [LATER.jsonl ...]")
    groups = {}
    sources = []
    others = []
    for path in paths:
        results = load(path)
        measured = [r for r in results if r["scenario"] not in ("meta", "load")]
        file_groups = summarize(measured)
        rounds = max((len(runs) for runs in file_groups.values()), default=0)
        recorded = [r.get("machine") for r in results if r.get("scenario") == "meta" and r.get("machine")]
        on = f", on {recorded[0]}" if recorded else KNOWN_MACHINES.get(os.path.basename(path), "")
        sources.append(f"`{path}` (commit {commit_of(results)}, {rounds} rounds{on})")
        notes = [r for r in results if r["scenario"] == "load"]
        if notes:
            others.append(f"during `{path}`, {what_else_ran(notes)}")
        # A later file's runs of a scenario replace an earlier file's (see the docstring).
        groups.update(file_groups)
    out = []
    say = out.append

    say("# Benchmark results\n")
    origin = sources[0] if len(sources) == 1 else (
        ", ".join(sources[:-1]) + f" and {sources[-1]}; where two files measured the same "
        "scenario with the same parameters, the later file's runs are the ones shown")
    say(f"Written by `make bench` (bench/run.sh) from {origin}. The rounds alternate; "
        "each cell is the median, with the minimum and maximum in brackets. The server is pinned to "
        "core 0 and the load generator (`sori-bench`) to core 1 with `taskset`; everything runs on "
        "loopback. `generator core` near 100 % would mean the generator, not the server, was the limit. "
        "The two-instance scenarios pin only the generator (see their section).\n")
    say(f"Machine at report time: {machine()}. The virtual machine is not always on the same "
        "hardware: each file above names the one it was measured on, where known; compare "
        "numbers across files with that in mind.\n")
    if others:
        say("What else was running (recorded by bench/run.sh before each run): " + "; ".join(others) + ".\n")

    say("## Against the targets\n")
    say("| measure | target | measured | verdict |")
    say("|---|---|---|---|")

    def row(measure, target, value, ok):
        verdict = "–" if value is None else ("met" if ok else "**missed**")
        say(f"| {measure} | {target} | {fmt(value, 2) if value else '–'} | {verdict} |")

    offered = find(groups, "fanout", "sori", clients=1000, rate_per_room=50)
    if offered:
        pct = delivered_pct(offered)
        p99 = stat(offered, "p99_ms")
        cpu = stat(offered, "server_us_per_delivery")
        say(f"| 1,000 clients in one room, offered 50,000 deliveries/s | all delivered, p99 ≤ 20 ms, ≤ 9 µs server CPU per delivery | "
            f"delivered {fmt(pct, 2)} %; p99 {fmt(p99)} ms; {fmt(cpu)} µs | "
            f"{'met' if pct[0] >= 100 and p99[0] <= 20 and cpu[0] <= 9 else '**missed**'} |")
    saturated = find(groups, "fanout", "sori", clients=1000, rate_per_room=400)
    if saturated:
        rate = stat(saturated, "deliveries_per_s")
        gen = stat(saturated, "generator_core_pct")
        say(f"| 1,000 clients in one room, saturated | ≥ 90,000 deliveries/s | {fmt(rate, 0)} /s (generator core {fmt(gen, 0)} %) | "
            f"{'met' if rate[0] >= 90000 else '**missed**'} |")
    hundred = find(groups, "fanout", "sori", clients=100, rate_per_room=50)
    if hundred:
        p99 = stat(hundred, "p99_ms")
        row("100 clients in one room, 50 msg/s: p99 ms", "≤ 5 ms", p99, p99[0] <= 5)
    idle = find(groups, "connect", "sori", clients=10000)
    if idle:
        per = stat(idle, "kb_per_connection")
        held = stat(idle, "connected")
        say(f"| 10,000 idle connections | held, ≤ 16 KB server RSS each | {fmt(held, 0)} held, {fmt(per)} KB each | "
            f"{'met' if held[0] >= 10000 and per[0] <= 16 else '**missed**'} |")
    startup = find(groups, "startup", "sori")
    if startup:
        rss = stat(startup, "idle_rss_mb")
        row("idle server RSS, MB", "≤ 20 MB", rss, rss[0] <= 20)
        cold = stat(startup, "cold_start_ms_median")
        row("cold start to a ready /readyz, ms", "≤ 200 ms", cold, cold[0] <= 200)
    posts = find(groups, "posts", "sori")
    if posts:
        rate = stat(posts, "posts_per_s")
        row("durable posts on SQLite, per s", "≥ 2,000/s", rate, rate[0] >= 2000)
    search = find(groups, "search", "sori")
    if search:
        p99 = stat(search, "p99_ms")
        say(f"| message search over {search[0].get('messages', 0):,} messages on SQLite: p99 | ≤ 50 ms | "
            f"{fmt(p99, 2)} ms (p50 {fmt(stat(search, 'p50_ms'), 2)} ms); the index adds "
            f"{fmt(stat(search, 'index_growth_pct'), 0)} % to the database "
            f"({fmt(stat(search, 'db_mb_without_index'))} → {fmt(stat(search, 'db_mb_with_index'))} MB) | "
            f"{'met' if p99[0] <= 50 else '**missed**'} |")
    ssr = find(groups, "ssr", "sori")
    if ssr:
        rate = stat(ssr, "requests_per_s")
        row("room page SSR (50 messages), req/s", "≥ 8,000 req/s", rate, rate[0] >= 8000)
    wasm = find(groups, "wasm", "sori")
    if wasm:
        br = stat(wasm, "brotli_kb")
        say(f"| wasm, brotli | ≤ 300 KB | {fmt(br, 0)} KB (raw {fmt(stat(wasm, 'raw_kb'), 0)} KB, gzip {fmt(stat(wasm, 'gzip_kb'), 0)} KB) | "
            f"{'met' if br[0] <= 300 else '**missed**'} |")
    sori_sat = stat(saturated, "deliveries_per_s") if saturated else None
    django_sat = stat(find(groups, "fanout", "django-redis", clients=1000, rate_per_room=10), "deliveries_per_s")
    if sori_sat and django_sat:
        ratio = sori_sat[0] / max(django_sat[0], 1)
        say(f"| saturated deliveries/s against Django Channels (Redis) | ≥ 30× | {ratio:,.1f}× | {'met' if ratio >= 30 else '**missed**'} |")
    sio = stat(find(groups, "fanout", "socketio", clients=1000, rate_per_room=50), "server_us_per_delivery")
    sori_cpu = stat(offered, "server_us_per_delivery") if offered else None
    if sio and sori_cpu:
        ratio = sio[0] / max(sori_cpu[0], 1e-9)
        say(f"| deliveries per server CPU second against Socket.IO (1,000 clients, 50 msg/s) | ≥ 1.3× | {ratio:.2f}× | {'met' if ratio >= 1.3 else '**missed**'} |")
    deployment = find(groups, "instances", "sori", clients=1000, rate_per_room=20)
    if deployment:
        pct = remote_delivered_pct(deployment)
        dups = stat(deployment, "duplicates")
        p99 = stat(deployment, "p99_ms")
        ok = pct[0] >= 100 and dups[1] == 0 and dups[2] == 0 and p99[0] <= 50
        say(f"| two instances on PostgreSQL, 1,000 clients split over them, 20 posts/s through both: "
            f"deliveries to the other instance's clients | all delivered exactly once, p99 ≤ 50 ms | "
            f"delivered {fmt(pct, 2)} %, duplicates {fmt(dups, 0)}; p99 {fmt(p99)} ms | "
            f"{'met' if ok else '**missed**'} |")
    pg_posts = find(groups, "instances-posts", "sori")
    if pg_posts:
        rate = stat(pg_posts, "posts_per_s")
        row("durable posts on PostgreSQL, two instances, per s", "≥ 1,500/s", rate, rate[0] >= 1500)
    say("")

    say("## Side by side\n")
    say("Delivered is what reached the clients within the run's drain time (10–15 s after posting stopped).\n")
    say("| scenario | target | delivered % | deliveries/s | p50 ms | p99 ms | max ms | server µs/delivery | server core % | generator core % |")
    say("|---|---|---|---|---|---|---|---|---|---|")
    for scenario, params, label in [
        ("fanout", dict(clients=100, rate_per_room=50), "100 clients, 1 room, 50 msg/s"),
        ("fanout", dict(clients=1000, rate_per_room=50), "1,000 clients, 1 room, 50 msg/s"),
        ("fanout", dict(clients=1000, rate_per_room=400), "1,000 clients, saturated (400 msg/s offered)"),
        ("fanout", dict(clients=1000, rate_per_room=10), "1,000 clients, saturated (10 msg/s offered)"),
        ("rooms", dict(clients=1000, rooms=50), "1,000 clients, 50 rooms, 2 msg/s each"),
    ]:
        for target in ("sori", "socketio", "django-redis", "django-memory"):
            runs = find(groups, scenario, target, **params)
            if not runs:
                continue
            say(f"| {label} | {target} | {fmt(delivered_pct(runs), 2)} | {fmt(stat(runs, 'deliveries_per_s'), 0)} | "
                f"{fmt(stat(runs, 'p50_ms'))} | {fmt(stat(runs, 'p99_ms'))} | {fmt(stat(runs, 'max_ms'))} | "
                f"{fmt(stat(runs, 'server_us_per_delivery'))} | {fmt(stat(runs, 'server_core_pct'), 0)} | "
                f"{fmt(stat(runs, 'generator_core_pct'), 0)} |")
    say("")
    say("| idle connections | target | connected | seconds to connect | server KB per connection |")
    say("|---|---|---|---|---|")
    for target in ("sori", "socketio", "django-redis", "django-memory"):
        for clients in (10000, 2000):
            runs = find(groups, "connect", target, clients=clients)
            if runs:
                say(f"| {clients:,} | {target} | {fmt(stat(runs, 'connected'), 0)} | {fmt(stat(runs, 'seconds'), 2)} | {fmt(stat(runs, 'kb_per_connection'))} |")
    say("")

    deployment_section(groups, say)

    say("## Commands\n")
    say("```sh\nmake bench                 # ROUNDS=3 by default: bench/run.sh, then bench/report.py\n"
        "make bench-instances       # only the two-instance scenarios and their SQLite baselines\n"
        "taskset -c 1 target/release/sori-bench fanout --target sori --server-core 0 --clients 1000 --rate 50 --seconds 5\n"
        "scripts/with-postgres.sh taskset -c 1 target/release/sori-bench instances --clients 1000 --rate 20 --seconds 20\n"
        "scripts/with-postgres.sh taskset -c 1 target/release/sori-bench instances-posts --posters 32 --rooms 8 --seconds 10\n"
        "# the smoke variant: fails unless every message reached every client exactly once\n"
        "scripts/with-postgres.sh target/release/sori-bench instances --clients 100 --seconds 2 --require-all\n"
        "taskset -c 1 target/release/sori-bench search --messages 100000 --rounds 20\n"
        "taskset -c 1 target/release/sori-bench --help   # every scenario and flag\n```\n")
    say("Every command `bench/run.sh` ran is printed on its standard error as it runs.\n")

    analysis = os.path.join(os.path.dirname(os.path.abspath(__file__)), "ANALYSIS.md")
    if os.path.exists(analysis):
        with open(analysis) as text:
            say(text.read())
    print("\n".join(out))


if __name__ == "__main__":
    main()
