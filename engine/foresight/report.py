"""A what-if's figures as plain text, two columns (in force, draft), for `houqin simulate`."""


def rows(result: dict) -> list[tuple[str, str, str]]:
    """(what, in force, draft) for every figure either side has, in the order a reader looks for them."""
    before, after = result["in_force"], result["draft"]
    out = [("work orders replayed", str(before["orders"]), str(after["orders"])),
           ("not replayable", str(before["not_replayable"]), str(after["not_replayable"]))]
    for key, name in _keys(before["on_time"], after["on_time"], ("process", "timer")):
        out.append((f"on time: {key[0]} {key[1]}", _rate(name[0].get(key)), _rate(name[1].get(key))))
    for key, name in _keys(before["response"], after["response"], ("process",)):
        for part, label in (("median_minutes", "median"), ("p90_minutes", "90th percentile")):
            out.append((f"response {label}: {key[0]}", _minutes(name[0].get(key), part), _minutes(name[1].get(key), part)))
    for key, name in _keys(before["escalations"], after["escalations"], ("level",)):
        out.append((f"escalations level {key[0]}" + (" (warning)" if key[0] == 0 else ""),
                    _count(name[0].get(key)), _count(name[1].get(key))))
    for key, name in _keys(before["notifications"], after["notifications"], ("recipient",)):
        out.append((f"notified: {key[0]}", _count(name[0].get(key)), _count(name[1].get(key))))
    for key, name in _keys(before["teams"], after["teams"], ("team",)):
        out.append((f"work orders: {key[0] or '(no team)'}", _count(name[0].get(key), "orders"),
                     _count(name[1].get(key), "orders")))
    return out


def text(result: dict) -> str:
    subject = result["subject"]
    head = (f"What-if: {subject['process'] or 'calendars'} draft, {result['months']} months "
            f"({result['since'][:10]} to {result['until'][:10]}), seed {result['seed']}")
    table = [("", "in force", "draft"), *rows(result)]
    width = max(len(row[0]) for row in table)
    lines = [head, ""] + [f"{a:<{width}}  {b:>10}  {c:>10}" for a, b, c in table]
    changed = result["changed"]
    lines += ["", f"work orders whose outcome changes: {changed['count']}"]
    for order in changed["orders"]:
        parts = [f"{t['timer']} {t['before']} -> {t['after']}"
                 + (f", new levels {','.join(map(str, t['new_levels']))}" if t["new_levels"] else "")
                 for t in order["timers"]]
        if order["team_before"] != order["team_after"]:
            parts.append(f"team {order['team_before'] or '-'} -> {order['team_after'] or '-'}")
        lines.append(f"  {order['number']} ({order['priority']}): " + "; ".join(parts))
    if changed["count"] > len(changed["orders"]):
        lines.append(f"  ... and {changed['count'] - len(changed['orders'])} more")
    return "\n".join(lines)


def _keys(left: list[dict], right: list[dict], by: tuple[str, ...]):
    index = [{tuple(row[k] for k in by): row for row in side} for side in (left, right)]
    keys = list(dict.fromkeys([*index[0], *index[1]]))
    return [(key, index) for key in keys]


def _rate(row: dict | None) -> str:
    return "-" if row is None or row["rate"] is None else f"{row['rate'] * 100:.1f}%"


def _minutes(row: dict | None, part: str) -> str:
    return "-" if row is None or row[part] is None else f"{row[part]:g} min"


def _count(row: dict | None, field: str = "count") -> str:
    return str(row[field]) if row else "0"
