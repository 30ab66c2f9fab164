"""The JSON API under /api/v1: the contract hospitals script against."""
from fastapi import APIRouter

from web.api import auth, dashboard, notifications, processes, workorders
from web.api import channels, sla
from web.api import attachments, ledger
from web.api import calls, dispatch, inbox, teams
from web.api import users
from web.api import asset_health, assets, follow_ups, labels, locations
from web.api import simulate
from web.api import appraisal

router = APIRouter(prefix="/api/v1")
router.include_router(labels.router)  # first: /assets/labels.pdf before any /assets/{asset_id}
router.include_router(simulate.router)  # what-if: before /processes/{key} could take its path
for module in (auth, processes, workorders, dashboard, appraisal, notifications, sla, channels):
    router.include_router(module.router)
for module in (ledger, attachments):  # the closed loop: risk ledger, photos and files
    router.include_router(module.router)
router.include_router(inbox.router)  # what waits for each person
router.include_router(calls.router)  # the follow-up calls (回访) the desk makes
for module in (dispatch, teams):  # routing by the process's rules, teams and their rotas
    router.include_router(module.router)
router.include_router(users.router)  # an administrator's password resets
router.include_router(locations.router)  # the location tree (位置)
router.include_router(follow_ups.router)  # a round that finds a problem raises the repair or hazard
router.include_router(assets.router)  # the equipment register; before any /assets/{id} route, which would take its paths
router.include_router(asset_health.router)  # last: fixed names under /assets/ (import, labels.pdf) match first
