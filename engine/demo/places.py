"""The demo hospital's places and equipment: a campus of four buildings with floors and rooms, and a
few dozen devices (电梯, 冷水机组, 空调机组, 医用气体终端, 输液泵...) with asset numbers, teams and
maintenance contractors. `load_demo` puts them in first so its work orders can name them."""
from datetime import date, datetime

from sqlmodel import Session

from engine.people.users import department_named, team_named
from engine.places import locations
from engine.storage.models import Asset

# code, name, kind, parent code (None: the root)
PLACES = [
    ("HQ", "本部", "campus", None),
    ("MZ", "门诊楼", "building", "HQ"),
    ("MZ-B1", "B1", "floor", "MZ"), ("MZ-B1-PD", "配电室", "room", "MZ-B1"),
    ("MZ-1F", "1F", "floor", "MZ"), ("MZ-1F-DT", "门诊大厅", "area", "MZ-1F"), ("MZ-1F-XK", "消防控制室", "room", "MZ-1F"),
    ("MZ-2F", "2F", "floor", "MZ"), ("MZ-2F-E", "东走廊", "area", "MZ-2F"),
    ("ZY", "住院楼", "building", "HQ"),
    ("ZY-B1", "B1", "floor", "ZY"), ("ZY-B1-SB", "水泵房", "room", "ZY-B1"),
    ("ZY-2F", "2F", "floor", "ZY"), ("ZY-2F-ICU", "ICU", "area", "ZY-2F"),
    ("ZY-5F", "5F", "floor", "ZY"), ("ZY-5F-512", "512病房", "room", "ZY-5F"), ("ZY-5F-HS", "护士站", "room", "ZY-5F"),
    ("ZY-RF", "屋顶", "floor", "ZY"), ("ZY-RF-JF", "电梯机房", "room", "ZY-RF"),
    ("YJ", "医技楼", "building", "HQ"),
    ("YJ-1F", "1F", "floor", "YJ"), ("YJ-1F-GY", "消毒供应中心", "area", "YJ-1F"),
    ("YJ-3F", "3F", "floor", "YJ"), ("YJ-3F-SS", "手术部", "area", "YJ-3F"), ("YJ-3F-OR3", "3号手术间", "room", "YJ-3F"),
    ("YJ-3F-KT", "空调机房", "room", "YJ-3F"),
    ("DL", "动力中心", "building", "HQ"),
    ("DL-1F", "1F", "floor", "DL"), ("DL-1F-LD", "冷冻机房", "room", "DL-1F"), ("DL-1F-GL", "锅炉房", "room", "DL-1F"),
    ("DL-1F-FD", "发电机房", "room", "DL-1F"), ("DL-1F-YQ", "中心供氧站", "room", "DL-1F"),
]
# By class: the team that keeps it, its maintenance contractor, manufacturer, model.
KEEPERS = {
    "elevator": ("电梯班", "迅达电梯(中国)维保分公司", "迅达", "3300"),
    "chiller": ("空调班", "约克制冷服务公司", "约克", "YK-1200"),
    "air_handler": ("空调班", "", "开利", "39CQ"),
    "medical_gas_outlet": ("医用气体班", "", "德尔格", "O2-DIN"),
    "infusion_pump": ("医用气体班", "", "迈瑞", "SK-600"),
    "boiler": ("水电班", "市特种设备维保中心", "力聚", "WNS4"),
    "generator": ("水电班", "康明斯动力服务", "康明斯", "C1000"),
    "water_pump": ("水电班", "", "格兰富", "CR45"),
    "fire_panel": ("水电班", "海湾消防维保公司", "海湾", "GST5000"),
    "autoclave": ("医用气体班", "新华医疗维保部", "新华", "XG1"),
}
# asset_no, name, class, place code, department (None: logistics keeps it), status
DEVICES = [
    *[(f"EL-ZY-0{n}", f"住院楼{n}号电梯", "elevator", "ZY", None, "in_service") for n in range(1, 5)],
    ("EL-MZ-01", "门诊1号电梯", "elevator", "MZ", None, "in_service"),
    ("EL-MZ-02", "门诊2号电梯", "elevator", "MZ", None, "under_repair"),
    ("EL-YJ-01", "医技楼污物电梯", "elevator", "YJ", None, "in_service"),
    *[(f"CH-0{n}", f"{n}号冷水机组", "chiller", "DL-1F-LD", None, "in_service") for n in range(1, 4)],
    *[(f"AHU-SS-0{n}", f"手术部{n}号净化空调机组", "air_handler", "YJ-3F-KT", None, "in_service") for n in range(1, 5)],
    ("AHU-MZ-01", "门诊新风机组", "air_handler", "MZ-2F", None, "in_service"),
    ("AHU-MZ-02", "门诊旧空调机组", "air_handler", "MZ-2F", None, "retired"),
    ("MG-512-1", "512病房1床氧气终端", "medical_gas_outlet", "ZY-5F-512", "心内科", "in_service"),
    ("MG-512-2", "512病房2床氧气终端", "medical_gas_outlet", "ZY-5F-512", "心内科", "in_service"),
    *[(f"MG-ICU-0{n}", f"ICU {n}床氧气终端", "medical_gas_outlet", "ZY-2F-ICU", None, "in_service") for n in range(1, 5)],
    ("MG-OR3-01", "3号手术间吸引终端", "medical_gas_outlet", "YJ-3F-OR3", None, "in_service"),
    *[(f"IP-ICU-0{n}", f"ICU输液泵{n}", "infusion_pump", "ZY-2F-ICU", None, "in_service") for n in range(1, 4)],
    ("IP-512-01", "心内科输液泵", "infusion_pump", "ZY-5F-HS", "心内科", "in_service"),
    ("BL-01", "1号燃气锅炉", "boiler", "DL-1F-GL", None, "in_service"),
    ("GEN-01", "应急柴油发电机", "generator", "DL-1F-FD", None, "in_service"),
    ("WP-01", "生活水泵1", "water_pump", "ZY-B1-SB", None, "in_service"),
    ("WP-02", "生活水泵2", "water_pump", "ZY-B1-SB", None, "in_service"),
    ("FP-MZ-01", "门诊楼火灾报警控制器", "fire_panel", "MZ-1F-XK", None, "in_service"),
    ("AC-01", "1号脉动真空灭菌器", "autoclave", "YJ-1F-GY", None, "in_service"),
    ("AC-02", "2号脉动真空灭菌器", "autoclave", "YJ-1F-GY", None, "in_service"),
]
LOGISTICS = "后勤保障部"


def load_places(session: Session, now: datetime) -> tuple[dict[str, int], dict[str, int]]:
    """The tree and the register; returns location ids and device ids by code and asset number."""
    nodes = {}
    for code, name, kind, parent in PLACES:
        nodes[code] = locations.add(session, code=code, name=name, kind=kind, parent=nodes[parent] if parent else None)
    devices = {}
    for index, (number, name, kind, place, department, status) in enumerate(DEVICES):
        team, contractor, manufacturer, model = KEEPERS[kind]
        commissioned = date(2016 + index % 8, 1 + index % 12, 1)
        device = Asset(
            asset_no=number, name=name, asset_class=kind, location_id=nodes[place].id, status=status,
            department_id=department_named(session, department or LOGISTICS, create=True).id,
            team_id=team_named(session, team, create=True).id, contractor=contractor, manufacturer=manufacturer,
            model=model, supplier=f"{manufacturer}授权经销商", commissioned_on=commissioned,
            warranty_end=commissioned.replace(year=commissioned.year + 5), created_at=now,
        )
        session.add(device)
        session.flush()
        devices[number] = device.id
    return {code: node.id for code, node in nodes.items()}, devices
