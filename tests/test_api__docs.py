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
