"""axe-core, the accessibility engine, run in the test browser (never served by the portal).

Its script comes from the axe-playwright-python package (a dev dependency that ships axe-core's
axe.min.js); it is evaluated into the page through the DevTools protocol, which the portal's
Content-Security-Policy does not govern.
"""

from __future__ import annotations

# axe-core on the page as shown: its serious and critical violations, one line per rule with
# the elements it names (three, and how many more) and why the first one fails.
AXE_JS = """async () => {
  const results = await axe.run(document, {resultTypes: ["violations"]});
  return results.violations
    .filter((rule) => ["serious", "critical"].includes(rule.impact))
    .map((rule) => {
      const targets = rule.nodes.slice(0, 3).map((node) => node.target.join(" ")).join(" | ");
      const more = rule.nodes.length > 3 ? ` and ${rule.nodes.length - 3} more` : "";
      const why = rule.nodes[0].failureSummary.split("\\n").slice(1).join(" ").trim();
      return `axe ${rule.impact} ${rule.id}: ${targets}${more} (${why})`;
    });
}"""


def axe_violations(page) -> list[str]:
    """axe-core's serious and critical findings on the page (injected once per document)."""
    if not page.evaluate("() => typeof window.axe !== 'undefined'"):
        from axe_playwright_python.base import AXE_SCRIPT

        page.evaluate(AXE_SCRIPT)
    return page.evaluate(AXE_JS)
