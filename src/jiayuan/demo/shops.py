"""园丁街: 381 m of street, 14 m wide, 127 shops in four sections."""

from __future__ import annotations

import random
from dataclasses import dataclass

from jiayuan.demo import names

STREET_NAME = "园丁街"
LENGTH_M = 381
WIDTH_M = 14
# Sections from the 杜甫路 end to the 桐本南路 end, with the number of shop fronts in each.
SECTIONS: tuple[tuple[str, int], ...] = (
    ("一段（杜甫路口—学府巷）", 33),
    ("二段（学府巷—园丁街小学）", 31),
    ("三段（园丁街小学—农贸市场）", 34),
    ("四段（农贸市场—桐本南路口）", 29),
)

# Business → (weight, shop-name endings); the weights follow a typical street beside a school and market.
_BUSINESSES: dict[str, tuple[int, tuple[str, ...]]] = {
    "餐饮": (26, ("烩面馆", "胡辣汤", "包子铺", "饺子馆", "牛肉面", "米线", "烧烤", "小吃店", "快餐")),
    "超市便利": (10, ("便利店", "超市", "百货")),
    "果蔬生鲜": (9, ("水果店", "蔬菜店", "生鲜", "粮油店")),
    "美容美发": (8, ("理发店", "美发沙龙", "美甲")),
    "医药": (6, ("大药房", "诊所", "口腔门诊")),
    "教育培训": (8, ("书店", "文具店", "托管班", "培训学校")),
    "服装鞋帽": (7, ("服装店", "童装", "鞋店")),
    "五金建材": (5, ("五金店", "水电安装", "灯饰")),
    "生活服务": (9, ("干洗店", "快递驿站", "修鞋配钥匙", "开锁", "家政服务")),
    "通讯数码": (5, ("手机店", "手机维修", "打印复印")),
    "烟酒茶": (4, ("烟酒店", "茶叶店")),
}  # fmt: skip
_NAME_PREFIXES = (
    "老王", "李记", "张家", "刘姐", "陈氏", "惠民", "丰收", "兴隆", "鑫源", "福满园", "好邻居", "百姓",
    "康乐", "金鼎", "顺心", "永安", "嵩山", "巩县", "伊洛", "宏达", "红星", "同心", "万家", "益民",
    "乐购", "家和", "春晖", "小杜", "园丁", "学子", "晨光", "阳光", "四季", "平安",
)  # fmt: skip


@dataclass(frozen=True)
class ShopPlan:
    """One shop front: section, number, name, business and its operator."""

    section: str
    number: str
    name: str
    business: str
    operator_name: str
    operator_phone: str


def draw_shops(rng: random.Random, phone: object) -> list[ShopPlan]:
    """All 127 shops; `phone` is a callable handing out unique mobile numbers."""
    assert callable(phone)
    businesses = list(_BUSINESSES)
    weights = [_BUSINESSES[b][0] for b in businesses]
    shops: list[ShopPlan] = []
    used: set[str] = set()
    for section_number, (section, count) in enumerate(SECTIONS, start=1):
        for index in range(1, count + 1):
            business = rng.choices(businesses, weights=weights)[0]
            while True:
                name = rng.choice(_NAME_PREFIXES) + rng.choice(_BUSINESSES[business][1])
                if name not in used:
                    used.add(name)
                    break
            gender = rng.choice(("男", "女"))
            operator = names.surname(rng) + names.given_name(
                rng, gender=gender, birth_year=rng.randrange(1965, 1998)
            )
            shops.append(
                ShopPlan(section, f"{section_number}-{index:02d}", name, business, operator, str(phone()))
            )
    return shops
