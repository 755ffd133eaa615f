#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Judges a soak's samples and draws them.

Input: JSON lines {"t": seconds, "procs": {name: {pid, rss_kib, fds}}} (see
soak_orchestrate.sh). A process whose pid changes (restarted) starts a new
segment; each segment is judged on its own:

- memory: the least-squares slope of VmRSS over the samples after the
  warm-up (the first --warmup-min minutes: allocator arenas and caches fill
  with the first cycles) must not exceed --max-mib-per-hour (1);
- descriptors: no growth at all after the same warm-up (a descriptor that
  the first cycles open once and keep, such as a netlink socket, is not
  growth). The count moves while a run holds probe connections, so it
  compares the lower envelope: the fewest open in the last --window-min
  minutes must not exceed the fewest in the first --window-min after the
  warm-up.

- database backends (the samples' "pg_backends", when present): a fault
  that strands connections leaves backends behind on the server until they
  fill max_connections. The count swings with the runs (probe connections,
  pools growing and shrinking; 2-6 in a 60-minute soak), so it fails only
  when the fewest in the last --window-min exceed the most in the first
  window after the warm-up: the whole level rose above its earlier range.

Writes the series and the verdict as JSON and an SVG plot (memory above,
descriptors and database backends below, one line per process); exits 1
when something grew.
"""
import argparse
import json
import sys

COLOURS = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b",
           "#e377c2", "#17becf", "#bcbd22", "#7f7f7f"]


def load(path):
    with open(path) as f:
        return [json.loads(line) for line in f if line.strip()]


def segments(samples):
    """{name: [[(t, rss_kib, fds, pid), ...], ...]}: one list per pid."""
    out = {}
    for s in samples:
        for name, p in s["procs"].items():
            segs = out.setdefault(name, [])
            if not segs or segs[-1][-1][3] != p["pid"]:
                segs.append([])
            segs[-1].append((s["t"], p["rss_kib"], p["fds"], p["pid"]))
    return out


def slope(points):
    """Least-squares slope of (x, y) points; None with fewer than 3."""
    if len(points) < 3:
        return None
    n = len(points)
    mx = sum(x for x, _ in points) / n
    my = sum(y for _, y in points) / n
    sxx = sum((x - mx) ** 2 for x, _ in points)
    if sxx == 0:
        return None
    return sum((x - mx) * (y - my) for x, y in points) / sxx


def envelope(points, args):
    """The lower envelope of (t, count) points after the warm-up: the fewest
    in the first and in the last --window-min, and whether the span after
    the warm-up is long enough (two windows) to judge."""
    first, last, judged = windows(points, args)
    return min(first), min(last), judged


def windows(points, args):
    """The counts of (t, count) points in the first and in the last
    --window-min after the warm-up, and whether the span after the warm-up
    is long enough (two windows) to judge."""
    warm = [p for p in points if p[0] >= args.warmup_min * 60] or points
    first = [c for t, c in warm if t <= warm[0][0] + args.window_min * 60]
    last = [c for t, c in warm if t >= warm[-1][0] - args.window_min * 60]
    return first, last, (warm[-1][0] - warm[0][0]) / 60.0 >= 2 * args.window_min


def judge_backends(samples, args):
    """The database's client backends, or None when not sampled."""
    points = [(s["t"], s["pg_backends"]) for s in samples
              if isinstance(s.get("pg_backends"), int)]
    if not points:
        return None
    first, last, judged = windows(points, args)
    verdict = {"samples": len(points), "first": points[0][1], "last": points[-1][1],
               "max": max(c for _, c in points), "max_first_window": max(first),
               "min_last_window": min(last), "judged": judged, "problems": []}
    if judged and min(last) > max(first):
        verdict["problems"].append(
            f"database client backends grew: at most {max(first)} in the first "
            f"{args.window_min:g} min after the warm-up, at least {min(last)} in the last")
    return verdict


def judge_segment(seg, args):
    warm = [p for p in seg if p[0] >= args.warmup_min * 60] or seg
    s = slope([(t / 3600.0, rss / 1024.0) for t, rss, _, _ in warm])
    fd_first, fd_last, fd_judged = envelope([(p[0], p[2]) for p in seg], args)
    span_min = (seg[-1][0] - seg[0][0]) / 60.0
    verdict = {
        "pid": seg[0][3],
        "samples": len(seg),
        "minutes": round(span_min, 1),
        "rss_mib_first": round(seg[0][1] / 1024.0, 2),
        "rss_mib_last": round(seg[-1][1] / 1024.0, 2),
        "rss_mib_max": round(max(p[1] for p in seg) / 1024.0, 2),
        "rss_slope_mib_per_hour": None if s is None else round(s, 3),
        "fds_first": seg[0][2],
        "fds_last": seg[-1][2],
        "fds_min_first_window": fd_first,
        "fds_min_last_window": fd_last,
        "fds_judged": fd_judged,
    }
    problems = []
    if s is not None and s > args.max_mib_per_hour:
        problems.append(f"RSS grows {s:.2f} MiB/h (bar {args.max_mib_per_hour})")
    if fd_judged and fd_last > fd_first:
        problems.append(f"open descriptors grew: at least {fd_first} in the first "
                        f"{args.window_min:g} min after the warm-up, at least "
                        f"{fd_last} in the last")
    verdict["problems"] = problems
    return verdict


def svg_panel(series, key, y_label, top, height, width, t_max, legend):
    """One panel of the plot: a line per process."""
    left, right = 70, 230
    plot_w = width - left - right
    # a colour per name over all the series, so both panels agree
    colour_of = {name: COLOURS[i % len(COLOURS)] for i, name in enumerate(sorted(series))}
    series = {name: segs for name, segs in series.items()
              if all(key in p for seg in segs for p in seg)}
    values = [v for segs in series.values() for seg in segs for v in (p[key] for p in seg)]
    lo, hi = min(values), max(values)
    if hi == lo:
        hi = lo + 1
    pad = (hi - lo) * 0.08
    lo, hi = lo - pad, hi + pad

    def x(t):
        return left + plot_w * t / t_max

    def y(v):
        return top + height * (1 - (v - lo) / (hi - lo))

    out = [f'<rect x="{left}" y="{top}" width="{plot_w}" height="{height}" '
           'fill="none" stroke="#888"/>',
           f'<text x="16" y="{top + height / 2}" transform="rotate(-90 16 {top + height / 2})" '
           f'text-anchor="middle" font-size="12">{y_label}</text>']
    for i in range(5):
        v = lo + (hi - lo) * i / 4
        out.append(f'<text x="{left - 6}" y="{y(v) + 4:.1f}" text-anchor="end" '
                   f'font-size="11">{v:.1f}</text>')
        out.append(f'<line x1="{left}" x2="{left + plot_w}" y1="{y(v):.1f}" y2="{y(v):.1f}" '
                   'stroke="#eee"/>')
    for i, (name, segs) in enumerate(sorted(series.items())):
        colour = colour_of[name]
        for seg in segs:
            pts = " ".join(f"{x(p['t']):.1f},{y(p[key]):.1f}" for p in seg)
            out.append(f'<polyline points="{pts}" fill="none" stroke="{colour}" '
                       'stroke-width="1.5"/>')
        if legend is not True and name not in legend:
            continue
        ly = top + 14 + 15 * (i if legend is True else legend.index(name))
        out.append(f'<line x1="{width - right + 15}" x2="{width - right + 35}" y1="{ly - 4}" '
                   f'y2="{ly - 4}" stroke="{colour}" stroke-width="3"/>')
        out.append(f'<text x="{width - right + 40}" y="{ly}" font-size="11">{name}</text>')
    return out


def svg(series, path, title):
    width, height = 960, 560
    t_max = max((p["t"] for segs in series.values() for seg in segs for p in seg),
                default=1) or 1
    body = [f'<text x="{width / 2}" y="22" text-anchor="middle" font-size="14">{title}</text>']
    body += svg_panel(series, "rss_mib", "RSS (MiB)", 40, 220, width, t_max, True)
    # the legend of the lower panel names only what the upper one lacks
    body += svg_panel(series, "fds", "open fds, db backends", 300, 200, width, t_max,
                      [n for n in sorted(series)
                       if not all("rss_mib" in p for seg in series[n] for p in seg)])
    digits = 1 if t_max < 12 * 60 else 0
    for i in range(7):
        t = t_max * i / 6
        xpos = 70 + (width - 300) * i / 6
        body.append(f'<text x="{xpos:.1f}" y="518" text-anchor="middle" '
                    f'font-size="11">{t / 60:.{digits}f}</text>')
    body.append(f'<text x="{70 + (width - 300) / 2}" y="540" text-anchor="middle" '
                'font-size="12">minutes</text>')
    with open(path, "w") as f:
        f.write(f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" '
                f'height="{height}" font-family="sans-serif">\n'
                f'<rect width="{width}" height="{height}" fill="white"/>\n')
        f.write("\n".join(body))
        f.write("\n</svg>\n")


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("samples")
    ap.add_argument("json_out")
    ap.add_argument("svg_out")
    ap.add_argument("--warmup-min", type=float, default=5)
    ap.add_argument("--window-min", type=float, default=10)
    ap.add_argument("--max-mib-per-hour", type=float, default=1.0)
    ap.add_argument("--cycles", type=int, default=None)
    ap.add_argument("--orchestrate-exit", type=int, default=None)
    args = ap.parse_args()

    samples = load(args.samples)
    segs = segments(samples)
    verdicts = {name: [judge_segment(seg, args) for seg in s] for name, s in segs.items()}
    problems = [f"{name} (pid {v['pid']}): {p}"
                for name, vs in verdicts.items() for v in vs for p in v["problems"]]
    series = {name: [[{"t": t, "rss_mib": round(rss / 1024.0, 3), "fds": fds, "pid": pid}
                      for t, rss, fds, pid in seg] for seg in s]
              for name, s in segs.items()}
    backends = judge_backends(samples, args)
    if backends is not None:
        problems += backends["problems"]
        # drawn with the descriptors (a count too), labelled in the legend
        series["postgres backends"] = [[{"t": s["t"], "fds": s["pg_backends"]}
                                        for s in samples
                                        if isinstance(s.get("pg_backends"), int)]]
    minutes = samples[-1]["t"] / 60.0 if samples else 0
    result = {
        "minutes": round(minutes, 1),
        "samples": len(samples),
        "cycles": args.cycles,
        "orchestrate_exit": args.orchestrate_exit,
        "bars": {"rss_slope_mib_per_hour_max": args.max_mib_per_hour,
                 "warmup_minutes": args.warmup_min, "fd_window_minutes": args.window_min},
        "processes": verdicts,
        "pg_backends": backends,
        "problems": problems,
        "pass": not problems,
        "series": series,
    }
    with open(args.json_out, "w") as f:
        json.dump(result, f, indent=1)
    svg(series, args.svg_out,
        f"soak: {minutes:.0f} min of orchestrate --continuous, "
        f"{args.cycles if args.cycles is not None else '?'} cycles")
    for name, vs in sorted(verdicts.items()):
        for v in vs:
            print(f"{name:24s} pid {v['pid']:>7}: RSS {v['rss_mib_first']:.1f} -> "
                  f"{v['rss_mib_last']:.1f} MiB (max {v['rss_mib_max']:.1f}), slope "
                  f"{v['rss_slope_mib_per_hour']} MiB/h; fds {v['fds_first']} -> "
                  f"{v['fds_last']} (lowest first/last window "
                  f"{v['fds_min_first_window']}/{v['fds_min_last_window']})")
    if backends is not None:
        print(f"{'postgres backends':24s}: {backends['first']} -> {backends['last']} "
              f"(max {backends['max']}; most in the first window "
              f"{backends['max_first_window']}, fewest in the last "
              f"{backends['min_last_window']})")
    for p in problems:
        print("FAIL:", p)
    print(json.dumps({k: result[k] for k in ("minutes", "samples", "cycles", "pass")}))
    return 0 if not problems else 1


if __name__ == "__main__":
    sys.exit(main())
