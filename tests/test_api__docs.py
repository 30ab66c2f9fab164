"""The API documentation works on an intranet: every asset it loads is served by Houqin itself."""
import re


def test_api_docs_load_only_local_assets(api):
    page = api.client.get("/docs")
    assert page.status_code == 200
    assets = re.findall(r"""(?:src|href)\s*[=:]\s*['"]([^'"]+)['"]""", page.text)
    assets += re.findall(r"""url:\s*['"]([^'"]+)['"]""", page.text)
    assert any(a.endswith("swagger-ui-bundle.js") for a in assets)
    for asset in assets:
        assert not asset.startswith(("http://", "https://", "//")), asset
        assert api.client.get(asset).status_code == 200, asset
    assert api.client.get("/redoc").status_code == 404  # ReDoc would fetch its script from a CDN: not served


def test_every_operation_describes_its_responses(app):
    """Each operation's success answer has a schema (a JSON body or a declared file type), and each
    refusal it declares is Houqin's {detail, errors?}, not FastAPI's default validation shape."""
    document = app.openapi()
    missing, refusals = [], []
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            answers = operation["responses"]
            success = [code for code in answers if code.startswith("2")]
            if not success:
                missing.append(f"{method.upper()} {path}: no success response")
            for code in success:
                content = answers[code].get("content")
                if code != "204" and not (content and all(media.get("schema") for media in content.values())):
                    missing.append(f"{method.upper()} {path} {code}")
            for code, answer in answers.items():
                if code.startswith("4"):
                    schema = answer.get("content", {}).get("application/json", {}).get("schema", {})
                    if schema.get("$ref") != "#/components/schemas/ErrorPublic":
                        refusals.append(f"{method.upper()} {path} {code}")
    assert missing == [] and refusals == []
    error = document["components"]["schemas"]["ErrorPublic"]
    assert error["required"] == ["detail"] and set(error["properties"]) == {"detail", "code", "errors"}


def test_a_work_order_response_is_described_field_by_field(app):
    document = app.openapi()
    answer = document["paths"]["/api/v1/workorders/{order_id}"]["get"]["responses"]["200"]
    ref = answer["content"]["application/json"]["schema"]["$ref"].rsplit("/", 1)[-1]
    described = document["components"]["schemas"][ref]["properties"]
    assert {"number", "state", "available_events", "sla", "history", "escalations"} <= set(described)
    history = document["components"]["schemas"]["HistoryEntryPublic"]["properties"]
    assert {"at", "actor", "event", "from", "to", "comment", "data"} <= set(history)


def test_every_operation_a_caller_who_must_change_their_password_cannot_use_declares_that_403(app):
    """Such a caller gets 403 from every route but /me, /auth/password and /auth/logout (web.deps)."""
    document = app.openapi()
    undeclared = [f"{method.upper()} {path}" for path, operations in document["paths"].items()
                  for method, operation in operations.items()
                  if "401" in operation["responses"] and "403" not in operation["responses"]]
    assert undeclared == ["GET /api/v1/me"]
