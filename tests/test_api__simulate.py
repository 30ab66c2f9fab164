"""What-if over HTTP and on the command line: designers and admins run it, others are refused, a bad draft
is told where it is wrong."""
from engine.clock import Clock
from engine.published import definitions
from simulate_support import drive, people as make_people
from web.cli import main

SHORTER = ("urgent: {within: 15m, calendar: 24x7}", "urgent: {within: 10m, calendar: 24x7}")


def _draft(session) -> str:
    return definitions.latest(session, "repair").yaml_text.replace(*SHORTER, 1)


def test_a_designer_sees_the_draft_beside_the_version_in_force(session, make_user, api, test_clock):
    test_clock.set(drive(session, make_people(session, make_user)))
    api.user("designer1", "designer")
    api.user("nurse1", "requester", department="心内科")
    body = {"yaml": _draft(session), "months": 1, "seed": 4}
    response = api.as_("designer1").post("/api/v1/processes/simulate", json=body)
    assert response.status_code == 200, response.text
    result = response.json()
    rate = lambda side: next(r["rate"] for r in result[side]["on_time"] if r["timer"] == "response")  # noqa: E731
    assert rate("draft") < rate("in_force") and result["changed"]["count"] > 0
    assert result["subject"] == {"kind": "process", "process": "repair"} and result["months"] == 1
    assert api.as_("nurse1").post("/api/v1/processes/simulate", json=body).status_code == 403


def test_a_bad_draft_is_422_with_its_lines(session, make_user, api):
    api.user("designer1", "designer")
    broken = definitions.latest(session, "repair").yaml_text.replace("calendar: 24x7}", "calendar: 24x8}", 1)
    response = api.as_("designer1").post("/api/v1/processes/simulate", json={"yaml": broken})
    assert response.status_code == 422
    assert [e["line"] for e in response.json()["errors"]] and "24x8" in response.json()["errors"][0]["message"]
    for body in ({"yaml": "key: [unclosed"}, {"yaml": "- just a list"}, {"yaml": ""}, {"yaml": "calendars: 3"},
                 {"yaml": _draft(session), "months": 0}, {"yaml": _draft(session), "months": 99}, {}):
        assert api.as_("designer1").post("/api/v1/processes/simulate", json=body).status_code == 422, body


def test_the_command_prints_both_columns_or_the_lines_to_fix(session, make_user, tmp_path, capsys):
    end = drive(session, make_people(session, make_user))
    draft = tmp_path / "repair.yaml"
    draft.write_text(_draft(session), encoding="utf-8")
    assert main(["simulate", str(draft), "--months", "2"], clock=Clock(end)) == 0
    out = capsys.readouterr().out
    line = next(line for line in out.splitlines() if line.startswith("on time: repair response"))
    before, after = [float(cell.rstrip("%")) for cell in line.split()[-2:]]
    assert after < before and "work orders whose outcome changes:" in out and "met -> breached" in out
    assert main(["simulate", str(draft), "--json", "--seed", "5"], clock=Clock(end)) == 0
    assert '"seed": 5' in capsys.readouterr().out
    draft.write_text(_draft(session).replace("number_prefix: RP", "number_prefix: rp"), encoding="utf-8")
    assert main(["simulate", str(draft)], clock=Clock(end)) == 1
    assert f"{draft}:8:16: number_prefix" in capsys.readouterr().out


def test_a_draft_past_the_languages_bound_is_refused_at_its_line(session, make_user, api):
    api.user("designer1", "designer")
    text = definitions.latest(session, "repair").yaml_text + "# " + "x" * 300_000 + "\n"
    response = api.as_("designer1").post("/api/v1/processes/simulate", json={"yaml": text})
    assert response.status_code == 422 and response.json()["errors"][0]["line"] >= 1
