"""Case statistics with the video patrol figures, and the weekly report as PDF, for the API, the
console and the CLI alike.

Patrol lies above cases in the layers (a round's finding opens a case), so the two services are
joined here; the PDF is rendered from a Jinja2 template by WeasyPrint (domains use no template engine).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from jiayuan.cases.schemas import CaseStats, RoundCounts
from jiayuan.cases.service import stats
from jiayuan.cases.stats_book import COUNT_HEADINGS, summary_rows
from jiayuan.kernel.clock import local, utcnow
from jiayuan.kernel.principal import Principal
from jiayuan.patrol import policies as patrol_policies
from jiayuan.patrol import service as patrol
from jiayuan.web.templating import TEMPLATES_DIR, templates

REPORT_CSS = TEMPLATES_DIR / "reports" / "weekly.css"


def case_statistics(
    session: Session, *, actor: Principal, within: stats.Period, now: datetime | None = None
) -> CaseStats:
    """The cases' statistics for the period, with the patrol rounds where the actor sees patrols."""
    rounds = None
    if patrol_policies.may_read(actor):
        tally = patrol.tally(session, actor=actor, since=within.since, until=within.until, now=now)
        rounds = RoundCounts.model_validate(tally.model_dump())
    return stats.case_stats(session, actor=actor, within=within, rounds=rounds, now=now)


def report_pdf(figures: CaseStats) -> bytes:
    """The weekly report as PDF (Chinese set in Noto CJK, which the setup script installs)."""
    from weasyprint import CSS, HTML  # loads Pango: only when a PDF is asked for

    html = templates.env.get_template("reports/weekly.html").render(
        stats=figures,
        summary=summary_rows(figures),
        headings=COUNT_HEADINGS,
        tables=(
            ("按网格", figures.by_grid),
            ("按处置人", figures.by_worker),
            ("按类别", figures.by_category),
        ),
        made_at=f"{local(utcnow()):%Y-%m-%d %H:%M}",
    )
    pdf: bytes = HTML(string=html).write_pdf(stylesheets=[CSS(filename=REPORT_CSS)])
    return pdf
