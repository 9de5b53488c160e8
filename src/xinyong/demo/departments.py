"""The departments of the demo prefecture city, with their unified codes (category 11, 机关)."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

from xinyong.core.identifiers import make_uscc
from xinyong.demo.names import CITY_CODE


@dataclass(frozen=True, slots=True)
class Dept:
    code: str
    name: str
    doc_prefix: str  # 文号 prefix: 德市监处罚〔2024〕123号
    file_format: str  # csv | csv-gbk | csv-bom | xlsx
    credit_office: bool = False

    @property
    def uscc(self) -> str:
        return dept_uscc(self.code)


# file_format spreads the encodings and formats real departments send over the city.
DEPARTMENTS: tuple[Dept, ...] = (
    Dept("XYB", "德州市社会信用体系建设领导小组办公室", "德信用办发", "csv", credit_office=True),
    Dept("SCJG", "德州市市场监督管理局", "德市监处罚", "csv"),
    Dept("SW", "国家税务总局德州市税务局", "德税稽罚", "csv-gbk"),
    Dept("STHJ", "德州市生态环境局", "德环罚字", "csv-bom"),
    Dept("YJGL", "德州市应急管理局", "（德）应急罚", "xlsx"),
    Dept("ZJ", "德州市住房和城乡建设局", "德建罚字", "csv-gbk"),
    Dept("JT", "德州市交通运输局", "德交执罚", "xlsx"),
    Dept("RS", "德州市人力资源和社会保障局", "德人社监罚字", "csv-bom"),
    Dept("WJ", "德州市卫生健康委员会", "德卫医罚", "xlsx"),
    Dept("GA", "德州市公安局", "德公（治）行罚决字", "csv-gbk"),
    Dept("XF", "德州市消防救援支队", "德消行罚决字", "csv-bom"),
    Dept("CG", "德州市综合行政执法局", "德综执罚字", "csv"),
    Dept("WL", "德州市文化和旅游局", "德文旅罚字", "xlsx"),
    Dept("NY", "德州市农业农村局", "德农罚字", "csv-bom"),
    Dept("ZRZY", "德州市自然资源和规划局", "德自然资罚字", "csv"),
    Dept("FGW", "德州市发展和改革委员会", "德发改罚字", "csv-gbk"),
    Dept("ZY", "德州市中级人民法院", "（2024）鲁14执", "xlsx"),
    Dept("SL", "德州市水利局", "德水罚字", "csv"),
    Dept("YB", "德州市医疗保障局", "德医保罚字", "csv-bom"),
    Dept("SWJ", "德州市商务局", "德商务罚字", "csv"),
    Dept("JY", "德州市教育和体育局", "德教体罚字", "csv-gbk"),
    Dept("MZ", "德州市民政局", "德民罚字", "csv"),
    Dept("XZSP", "德州市行政审批服务局", "德审批许字", "csv-bom"),
    Dept("BB", "中共德州市委机构编制委员会办公室", "德编办发", "csv"),
    Dept("GXJ", "德州市工业和信息化局", "德工信罚字", "csv"),
    Dept("SFJ", "德州市司法局", "德司罚字", "csv"),
)
BY_CODE: dict[str, Dept] = {d.code: d for d in DEPARTMENTS}


@cache
def dept_uscc(code: str) -> str:
    index = next(i for i, d in enumerate(DEPARTMENTS) if d.code == code)
    # Real 机关 bodies in 德州 start 004…; subject bodies never start with 0, so none collide.
    return make_uscc("11", CITY_CODE, f"0045{index + 11:04d}")


# The demo firm's own account (/account): the first company (category 91) of the city, registered against its
# registration record and approved by the office; with the default seed 91371423MAMJQEBW6G 庆云县兴隆超市有限公司.
DEMO_FIRM_PASSWORD = "firm12345"

# Demo logins for /admin: (username, password, role, dept).
DEMO_USERS: tuple[tuple[str, str, str, str], ...] = (
    ("admin", "admin12345", "operator", "XYB"),
    ("scjg", "scjg12345", "dept", "SCJG"),
    ("sw", "sw123456", "dept", "SW"),
    ("sthj", "sthj12345", "dept", "STHJ"),
    ("zy", "zy123456", "dept", "ZY"),
)
