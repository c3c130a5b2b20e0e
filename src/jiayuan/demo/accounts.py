"""The demo's sign-in accounts, in one place so `make demo` and the README can print them."""

from __future__ import annotations

from dataclasses import dataclass

from jiayuan.demo.layout import GRIDS, MAIN_COMMUNITY, SHOP_COMMUNITY, compound
from jiayuan.kernel.principal import Role

# The resident account's flat: its household head becomes the bound person.
RESIDENT_HOME = ("jjhy", "1号楼", "1单元", "102")


@dataclass(frozen=True)
class DemoAccount:
    """A demo user: what it may touch is named, and resolved to ids when seeding."""

    username: str
    password: str
    display_name: str
    role: Role
    communities: tuple[str, ...] = ()
    compounds: tuple[str, ...] = ()
    grids: tuple[str, ...] = ()
    home: tuple[str, str, str, str] | None = None

    @property
    def scope_label(self) -> str:
        """What the account may touch, in words."""
        parts = [*self.communities, *(compound(code).name for code in self.compounds), *self.grids]
        if self.home:
            parts.append(" ".join([compound(self.home[0]).name, *self.home[1:]]))
        return "、".join(parts)


_GRID_WORKERS = ("王丽娟", "李建伟", "张晓燕", "刘海涛", "陈红霞", "杨志刚", "赵亚楠", "郭永强")

DEMO_ACCOUNTS: tuple[DemoAccount, ...] = (
    DemoAccount(
        "admin", "admin-demo-2026", "孙书记", Role.ADMIN, communities=(MAIN_COMMUNITY, SHOP_COMMUNITY)
    ),
    DemoAccount(
        "staff", "staff-demo-2026", "周敏（社区工作人员）", Role.STAFF, communities=(MAIN_COMMUNITY,)
    ),
    DemoAccount("wuye", "wuye-demo-2026", "锦江花园物业", Role.PROPERTY, compounds=("jjhy",)),
    DemoAccount(
        "police", "police-demo-2026", "马警官（社区民警）", Role.POLICE, communities=(MAIN_COMMUNITY,)
    ),
    DemoAccount(
        "volunteer", "volunteer-demo-2026", "韩志愿者", Role.VOLUNTEER, communities=(MAIN_COMMUNITY,)
    ),
    DemoAccount("jumin", "jumin-demo-2026", "锦江花园居民", Role.RESIDENT, home=RESIDENT_HOME),
    DemoAccount("gridlead", "gridlead-demo-2026", "吴网格长", Role.STAFF, communities=(MAIN_COMMUNITY,)),
    DemoAccount(
        "nightlead", "nightlead-demo-2026", "冯网格长（夜班）", Role.STAFF, communities=(MAIN_COMMUNITY,)
    ),
    DemoAccount(
        "zhiban", "zhiban-demo-2026", "郑干部（夜班值班）", Role.STAFF, communities=(MAIN_COMMUNITY,)
    ),
    DemoAccount("daping", "daping-demo-2026", "办公室大屏", Role.SCREEN, communities=(MAIN_COMMUNITY,)),
    *(
        DemoAccount(
            f"grid{number:02d}",
            f"grid{number:02d}-demo-2026",
            f"{person}（{name}）",
            Role.GRID,
            grids=(name,),
        )
        for number, (person, (name, _code, _first, _last)) in enumerate(
            zip(_GRID_WORKERS, GRIDS, strict=True), 1
        )
    ),
)


# The faces other than the console, each with the demo account it is opened with.
FACES: tuple[tuple[str, str, str], ...] = (
    ("大屏 office screen", "/screen", "daping"),
    ("网格员手机 grid worker's phone", "/m", "grid01"),
)


def face_lines(base_url: str) -> list[str]:
    """`make demo`'s lines naming each face's address and the account to sign in with there."""
    accounts = {a.username: a for a in DEMO_ACCOUNTS}
    lines = []
    for label, path, username in FACES:
        account = accounts[username]
        lines.append(
            f"{label}: {base_url}{path}  ← {account.username} / {account.password} · {account.display_name}"
        )
    return lines
