"""Word pools for plausible names in 德州市: counties, trade names, industries, people, towns.

Everything here is static data plus a deterministic 64-bit mixer; nothing is random at import.
"""

from __future__ import annotations

_M64 = (1 << 64) - 1

# 德州市 county-level divisions (2023 statistical codes); used when core.regions is unavailable.
FALLBACK_COUNTIES: dict[str, str] = {
    "371402": "德城区", "371403": "陵城区", "371422": "宁津县", "371423": "庆云县", "371424": "临邑县",
    "371425": "齐河县", "371426": "平原县", "371427": "夏津县", "371428": "武城县", "371481": "乐陵市",
    "371482": "禹城市",
}  # fmt: skip
CITY = "德州市"
CITY_CODE = "371400"


def mix(seed: int, stream: int, i: int) -> int:
    """splitmix64 of (seed, stream, i): a stable 64-bit hash, so any row can be rebuilt on its own."""
    x = (seed * 0x9E3779B97F4A7C15 + stream * 0xD1B54A32D192ED03 + i * 0xBF58476D1CE4E5B9 + 0x632BE59BD9B4E019) & _M64
    x = ((x ^ (x >> 30)) * 0xBF58476D1CE4E5B9) & _M64
    x = ((x ^ (x >> 27)) * 0x94D049BB133111EB) & _M64
    return x ^ (x >> 31)


def county_prefix(code: str, county: str) -> str:
    """How names start: districts under the city name (德州市德城区), county-level cities and counties alone."""
    if county.startswith("德州"):
        return county
    if county.endswith("区"):
        return CITY + county
    return county


SURNAMES = (
    "王王王王李李李张张张刘刘陈陈杨杨赵赵黄周吴徐孙胡朱高林何郭马罗梁宋郑谢韩唐冯于董萧程曹袁邓许傅沈曾彭吕"
    "苏卢蒋蔡贾丁魏薛叶阎余潘杜戴夏钟汪田任姜范方石姚谭廖邹熊金陆郝孔白崔康毛邱秦江史顾侯邵孟龙万段雷钱汤尹"
    "黎易常武乔贺赖龚文庞樊兰殷施陶洪翟安颜倪严牛温芦季俞章鲁葛伍韦申尤毕聂丛焦向柳邢路岳齐沿梅莫庄辛管祝左"
)
GIVEN = (
    "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华玉兰萍红建国志峰鹏辉宁波海燕飞云凤晶俊亮健斌浩宇欣怡"
    "子涵梓轩雨桐佳琪思远博文晓东春梅秋菊冬雪振华立新德胜玉珍淑珍桂芝凤兰金凤广田连生永福玉堂树林保国庆林"
    "文静婷婷雪莲晨阳家豪一鸣子墨若曦昊然天佑浩然欣妍诗涵梦琪雅琳建平建华卫东红梅海涛秀英春生长江"
)
TRADE = (
    "恒达鑫源金丰华丰宏图瑞祥永泰德润润泽晨光中正信达盛世博远佳美天衢齐鲁鲁北运河黄河万通华信福瑞汇丰和顺"
    "聚源鼎盛东方新华兴隆泰和众诚益民嘉禾丰收金穗银河长城利民安康百川宏达金诚凯瑞元亨祥和通达顺发创新鸿运"
    "昌盛华泰鲁德德信永盛正大华宇远航海川荣达明珠天成宝丰新源富民乐安同心康宁锦程天润方圆世纪春晖绿源科达"
)
# Industry words for enterprises, with the sector that decides which licences and penalties fit.
INDUSTRIES: tuple[tuple[str, str], ...] = (
    ("机械制造", "manufacturing"), ("机械设备", "manufacturing"), ("农机装备", "manufacturing"),
    ("食品", "food"), ("餐饮管理", "food"), ("面粉", "food"), ("调味品", "food"), ("扒鸡", "food"),
    ("酿酒", "food"), ("乳业", "food"), ("建筑工程", "construction"), ("建筑安装工程", "construction"),
    ("装饰工程", "construction"), ("房地产开发", "construction"), ("化工", "chemical"), ("精细化工", "chemical"),
    ("新材料科技", "chemical"), ("商贸", "trade"), ("商贸", "trade"), ("超市", "trade"), ("汽车销售服务", "trade"),
    ("医药连锁", "medical"), ("医疗器械", "medical"), ("物流", "transport"), ("运输", "transport"),
    ("客运", "transport"), ("纺织", "manufacturing"), ("服装", "manufacturing"), ("家具", "manufacturing"),
    ("建材", "construction"), ("新能源科技", "energy"), ("太阳能", "energy"), ("供热", "energy"),
    ("电子科技", "tech"), ("信息技术", "tech"), ("网络科技", "tech"), ("农业科技", "agri"), ("生物科技", "agri"),
    ("文化传媒", "culture"), ("旅游开发", "culture"), ("印刷", "manufacturing"), ("环保科技", "energy"),
)  # fmt: skip
SHOPS: tuple[tuple[str, str], ...] = (
    ("小吃店", "food"), ("饭店", "food"), ("烧烤店", "food"), ("水饺馆", "food"), ("便利店", "trade"),
    ("超市", "trade"), ("日用品商店", "trade"), ("五金店", "trade"), ("建材门市部", "trade"), ("药店", "medical"),
    ("理发店", "service"), ("汽车修理部", "transport"), ("服装店", "trade"), ("网吧", "culture"), ("粮油店", "food"),
    ("蔬菜店", "food"), ("农资门市部", "agri"), ("干洗店", "service"), ("水果店", "food"), ("烟酒店", "trade"),
)  # fmt: skip
COOP_WORDS = ("农机", "种植", "养殖", "果蔬", "金丝小枣", "西瓜", "食用菌", "蔬菜", "粮食种植", "生猪养殖", "奶牛养殖", "土地股份")
TOWNS = (
    "房寺镇", "张庄镇", "辛店镇", "黄夹镇", "郑家寨镇", "丁庄镇", "宋家镇", "前孙镇", "恩城镇", "王凤楼镇", "腰站镇",
    "伦镇", "梁家镇", "安仁镇", "祝阿镇", "晏城街道", "马颊河街道", "杨安镇", "化楼镇", "朱集镇", "大黄镇", "相衙镇",
    "苏留庄镇", "新盛店镇", "双庙镇", "郑店镇", "老城镇", "德平镇", "孟寺镇", "临盘街道", "宿安乡", "柴胡店镇",
)  # fmt: skip
VILLAGE_SUFFIX = ("庄", "家村", "屯", "寨", "集", "官庄", "楼", "店")
SCHOOL_KINDS = ("中学", "实验中学", "中心小学", "实验小学", "职业中等专业学校", "人民医院", "中医院", "妇幼保健院", "卫生院", "图书馆")
ASSOC_WORDS = ("机械", "食品", "餐饮", "建筑业", "物流", "纺织服装", "医药", "汽车流通", "家具", "农业产业化", "太阳能",
               "个体劳动者", "消费者", "旅游", "书法家", "摄影家", "老年体育", "青年企业家")  # fmt: skip
PRIVATE_NONPROFIT = ("幼儿园", "职业培训学校", "养老院", "社会工作服务中心", "艺术培训学校", "康复中心")
