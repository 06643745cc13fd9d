package dev.flotilla.chaos.engine;

import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * The report a person looks at: one self-contained HTML page (inline SVG and CSS, nothing fetched) with the summary
 * table and, per experiment, three charts on one time axis with the fault window shaded: objects converged, requests
 * per replica per second at the server, and each range's owners (unowned in red, two owners in black).
 *
 * <pre>{@code
 * List<ExperimentResult> results = List.of();
 * String page = HtmlReport.render(Duration.ofSeconds(8), results);
 * }</pre>
 */
public final class HtmlReport {

    /** The fault window's shade: also what the screenshot test looks for. */
    public static final String FAULT_SHADE = "#f6c9c4";
    static final String UNOWNED = "#d93025";
    static final String TWO_OWNERS = "#000000";
    private static final String[] PALETTE = {"#1a73e8", "#188038", "#e37400", "#9334e6", "#007b83", "#b06000", "#5f6368",
            "#c5221f"};
    private static final int WIDTH = 960;
    private static final int LEFT = 64;
    private static final int RIGHT = 16;
    private static final int TOP = 12;
    private static final int BOTTOM = 28;
    private static final int CHART_HEIGHT = 170;
    private static final int SHARD_ROW = 14;

    private HtmlReport() {
    }

    public static String render(Duration baseline, List<ExperimentResult> results) {
        StringBuilder b = new StringBuilder(64 * 1024);
        b.append("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>Flotilla chaos report</title>\n")
                .append("<style>body{font:14px sans-serif;margin:24px;color:#202124}table{border-collapse:collapse}")
                .append("td,th{border:1px solid #dadce0;padding:3px 8px;text-align:left}th{background:#f1f3f4}")
                .append(".bad{color:#c5221f;font-weight:bold}.ok{color:#188038}section{margin:28px 0}")
                .append("svg{display:block;margin:4px 0 10px 0}.legend span{margin-right:14px}")
                .append(".sw{display:inline-block;width:10px;height:10px;margin-right:4px}</style></head><body>\n");
        b.append("<h1>Flotilla chaos report</h1>\n<p>Fault-free convergence: ").append(seconds(baseline))
                .append(" s. Shaded: each fault in place. Dashed: T after the fault's end (convergence), the budget per second")
                .append(" (requests).</p>\n");
        summary(b, results);
        int n = 0;
        for (ExperimentResult r : results) {
            section(b, r, "e" + n++);
        }
        return b.append("</body></html>\n").toString();
    }

    private static void summary(StringBuilder b, List<ExperimentResult> results) {
        b.append("<table><tr><th>experiment</th><th>action</th><th>build</th><th>converged after fault (s)</th>")
                .append("<th>T (s)</th><th>single-writer violations</th><th>peak requests / 10 s / replica (budget)</th>")
                .append("<th>longest unowned range (s)</th><th>verdict</th></tr>\n");
        int n = 0;
        for (ExperimentResult r : results) {
            b.append("<tr><td><a href=\"#e").append(n++).append("\">").append(escape(r.experiment())).append("</a></td><td>")
                    .append(escape(r.action())).append("</td><td>").append(escape(r.build())).append("</td><td>")
                    .append(r.convergence() == null ? "never" : seconds(r.convergence())).append("</td><td>")
                    .append(r.convergenceLimit() == null ? "-" : seconds(r.convergenceLimit())).append("</td><td>")
                    .append(r.singleWriterViolations()).append("</td><td>").append(r.peakRequestsPer10s()).append(" (")
                    .append((int) r.requestBudget()).append(")</td><td>")
                    .append(String.format(Locale.ROOT, "%.1f", r.unownedSeconds())).append("</td><td class=\"")
                    .append(r.holds() ? "ok\">holds" : "bad\">violated").append("</td></tr>\n");
        }
        b.append("</table>\n");
    }

    private static void section(StringBuilder b, ExperimentResult r, String id) {
        Timeline t = r.timeline();
        b.append("<section id=\"").append(id).append("\"><h2>").append(escape(r.experiment())).append(" <small>(")
                .append(escape(r.action())).append(", build ").append(escape(r.build())).append(", targets ")
                .append(escape(String.join(", ", r.targets()))).append(")</small></h2>\n");
        if (!r.holds()) {
            b.append("<ul class=\"bad\">");
            r.violations().forEach(v -> b.append("<li>").append(escape(v)).append("</li>"));
            b.append("</ul>\n");
        }
        Axis x = new Axis(t.from(), t.to());
        // One colour per replica on every chart of the section.
        java.util.TreeSet<String> replicas = new java.util.TreeSet<>(t.requests().keySet());
        t.owners().forEach(o -> replicas.addAll(o.owners()));
        Map<String, String> colors = new LinkedHashMap<>();
        replicas.forEach(name -> colors.put(name, PALETTE[colors.size() % PALETTE.length]));
        b.append("<div>Objects converged</div>\n");
        convergedChart(b, r, t, x);
        b.append("<div>Requests per second at the server, per replica (Leases apart)</div>\n");
        requestsChart(b, r, t, x, colors);
        b.append("<div>Range owners, one row per shard</div>\n");
        ownersChart(b, r, t, x, colors);
        b.append("</section>\n");
    }

    private static void convergedChart(StringBuilder b, ExperimentResult r, Timeline t, Axis x) {
        int total = t.converged().stream().mapToInt(Timeline.Converged::total).max().orElse(0);
        open(b, CHART_HEIGHT, "objects converged");
        fault(b, r, x, CHART_HEIGHT);
        yAxis(b, CHART_HEIGHT, total, "");
        if (r.convergenceLimit() != null) {
            Instant limit = r.faultEnd().plus(r.convergenceLimit());
            if (!limit.isAfter(t.to())) {
                double lx = x.at(limit);
                b.append("<line x1=\"").append(f(lx)).append("\" y1=\"").append(TOP).append("\" x2=\"").append(f(lx))
                        .append("\" y2=\"").append(CHART_HEIGHT - BOTTOM)
                        .append("\" stroke=\"#5f6368\" stroke-dasharray=\"4 3\"><title>T</title></line>\n");
            }
        }
        List<double[]> points = new ArrayList<>();
        for (Timeline.Converged c : t.converged()) {
            points.add(new double[] {x.at(c.at()), y(CHART_HEIGHT, c.converged(), total)});
        }
        polyline(b, points, PALETTE[0], "converged");
        xAxis(b, x, CHART_HEIGHT);
        b.append("</svg>\n");
    }

    private static void requestsChart(StringBuilder b, ExperimentResult r, Timeline t, Axis x, Map<String, String> palette) {
        int max = (int) Math.ceil(r.requestBudget() / 10);
        for (List<Integer> counts : t.requests().values()) {
            for (int c : counts) {
                max = Math.max(max, c);
            }
        }
        open(b, CHART_HEIGHT, "requests per second");
        fault(b, r, x, CHART_HEIGHT);
        yAxis(b, CHART_HEIGHT, max, "/s");
        double budget = y(CHART_HEIGHT, r.requestBudget() / 10, max);
        b.append("<line x1=\"").append(LEFT).append("\" y1=\"").append(f(budget)).append("\" x2=\"").append(WIDTH - RIGHT)
                .append("\" y2=\"").append(f(budget)).append("\" stroke=\"#5f6368\" stroke-dasharray=\"4 3\"><title>budget / 10")
                .append("</title></line>\n");
        Map<String, String> colors = new LinkedHashMap<>();
        for (var e : t.requests().entrySet()) {
            String color = palette.get(e.getKey());
            colors.put(e.getKey(), color);
            List<double[]> points = new ArrayList<>();
            List<Integer> counts = e.getValue();
            for (int s = 0; s < counts.size(); s++) {
                points.add(new double[] {x.at(t.from().plusMillis(s * 1000L + 500)), y(CHART_HEIGHT, counts.get(s), max)});
            }
            polyline(b, points, color, e.getKey());
        }
        xAxis(b, x, CHART_HEIGHT);
        b.append("</svg>\n");
        legend(b, colors);
    }

    private static void ownersChart(StringBuilder b, ExperimentResult r, Timeline t, Axis x, Map<String, String> palette) {
        int shards = t.owners().stream().mapToInt(Timeline.OwnerSpan::shard).max().orElse(-1) + 1;
        int height = TOP + shards * SHARD_ROW + BOTTOM;
        open(b, height, "range owners");
        fault(b, r, x, height);
        Map<String, String> colors = new LinkedHashMap<>();
        for (Timeline.OwnerSpan s : t.owners()) {
            String color;
            String title;
            if (s.owners().isEmpty()) {
                color = UNOWNED;
                title = "unowned";
            } else if (s.owners().size() > 1) {
                color = TWO_OWNERS;
                title = "two owners: " + String.join(", ", s.owners());
            } else {
                color = palette.get(s.owners().getFirst());
                colors.put(s.owners().getFirst(), color);
                title = s.owners().getFirst();
            }
            double x1 = x.at(s.from());
            double x2 = x.at(s.to());
            b.append("<rect x=\"").append(f(x1)).append("\" y=\"").append(TOP + s.shard() * SHARD_ROW + 1)
                    .append("\" width=\"").append(f(Math.max(1, x2 - x1))).append("\" height=\"").append(SHARD_ROW - 2)
                    .append("\" fill=\"").append(color).append("\"><title>shard ").append(s.shard()).append(": ")
                    .append(escape(title)).append(" (").append(seconds(Duration.between(s.from(), s.to())))
                    .append(" s)</title></rect>\n");
        }
        for (int s = 0; s < shards; s++) {
            b.append("<text x=\"").append(LEFT - 6).append("\" y=\"").append(TOP + s * SHARD_ROW + SHARD_ROW - 3)
                    .append("\" text-anchor=\"end\" font-size=\"10\">").append(s).append("</text>\n");
        }
        xAxis(b, x, height);
        b.append("</svg>\n");
        colors.put("unowned", UNOWNED);
        colors.put("two owners", TWO_OWNERS);
        legend(b, colors);
    }

    private static void open(StringBuilder b, int height, String label) {
        b.append("<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"").append(WIDTH).append("\" height=\"").append(height)
                .append("\" role=\"img\" aria-label=\"").append(label).append("\">\n");
    }

    /**
     * Each fault window, shaded (a Schedule's firings and a Workflow's chaos nodes each have their own); a one-shot
     * fault (a kill) is a 2 px band at its instant. A run whose faults selected no pod shades its fault phase.
     */
    private static void fault(StringBuilder b, ExperimentResult r, Axis x, int height) {
        List<Timeline.FaultWindow> windows = r.timeline().faults().isEmpty()
                ? List.of(new Timeline.FaultWindow(r.experiment(), r.action(), r.faultStart(), r.faultEnd(), r.targets()))
                : r.timeline().faults();
        for (Timeline.FaultWindow w : windows) {
            double x1 = x.at(w.from());
            double x2 = Math.max(x.at(w.to()), x1 + 2);
            b.append("<rect class=\"fault\" x=\"").append(f(x1)).append("\" y=\"").append(TOP).append("\" width=\"")
                    .append(f(x2 - x1)).append("\" height=\"").append(height - TOP - BOTTOM).append("\" fill=\"")
                    .append(FAULT_SHADE).append("\"><title>").append(escape(w.step() + ": " + w.action() + " on "
                            + String.join(", ", w.targets()) + ", " + w.from() + " .. " + w.to())).append("</title></rect>\n");
        }
    }

    private static void yAxis(StringBuilder b, int height, int max, String unit) {
        b.append("<line x1=\"").append(LEFT).append("\" y1=\"").append(TOP).append("\" x2=\"").append(LEFT).append("\" y2=\"")
                .append(height - BOTTOM).append("\" stroke=\"#9aa0a6\"/>\n");
        for (int v : new int[] {0, max}) {
            b.append("<text x=\"").append(LEFT - 6).append("\" y=\"").append(f(y(height, v, max) + 4))
                    .append("\" text-anchor=\"end\" font-size=\"11\">").append(v).append(unit).append("</text>\n");
        }
    }

    private static void xAxis(StringBuilder b, Axis x, int height) {
        int base = height - BOTTOM;
        b.append("<line x1=\"").append(LEFT).append("\" y1=\"").append(base).append("\" x2=\"").append(WIDTH - RIGHT)
                .append("\" y2=\"").append(base).append("\" stroke=\"#9aa0a6\"/>\n");
        long span = Math.max(1, Duration.between(x.from, x.to).toSeconds());
        long step = span <= 30 ? 5 : span <= 90 ? 10 : 30;
        for (long s = 0; s <= span; s += step) {
            double at = x.at(x.from.plusSeconds(s));
            b.append("<text x=\"").append(f(at)).append("\" y=\"").append(base + 16)
                    .append("\" text-anchor=\"middle\" font-size=\"11\">").append(s).append(" s</text>\n");
        }
    }

    private static void polyline(StringBuilder b, List<double[]> points, String color, String title) {
        if (points.isEmpty()) {
            return;
        }
        b.append("<polyline fill=\"none\" stroke=\"").append(color).append("\" stroke-width=\"1.6\" points=\"");
        for (double[] p : points) {
            b.append(f(p[0])).append(',').append(f(p[1])).append(' ');
        }
        b.setLength(b.length() - 1);
        b.append("\"><title>").append(escape(title)).append("</title></polyline>\n");
    }

    private static void legend(StringBuilder b, Map<String, String> colors) {
        b.append("<div class=\"legend\">");
        colors.forEach((name, color) -> b.append("<span><span class=\"sw\" style=\"background:").append(color)
                .append("\"></span>").append(escape(name)).append("</span>"));
        b.append("</div>\n");
    }

    private static double y(int height, double value, double max) {
        double plot = height - TOP - BOTTOM;
        return height - BOTTOM - (max <= 0 ? 0 : value / max * plot);
    }

    /** Seconds from {@code from} to {@code to} onto the plot's width; instants outside are clamped to its edges. */
    private record Axis(Instant from, Instant to) {
        double at(Instant t) {
            double span = Math.max(1, Duration.between(from, to).toMillis());
            double ms = Math.clamp(Duration.between(from, t).toMillis(), 0, span);
            return LEFT + ms / span * (WIDTH - LEFT - RIGHT);
        }
    }

    static String escape(String s) {
        StringBuilder out = new StringBuilder(s.length());
        for (char c : s.toCharArray()) {
            switch (c) {
                case '<' -> out.append("&lt;");
                case '>' -> out.append("&gt;");
                case '&' -> out.append("&amp;");
                case '"' -> out.append("&quot;");
                case '\'' -> out.append("&#39;");
                default -> out.append(c);
            }
        }
        return out.toString();
    }

    private static String f(double v) {
        return String.format(Locale.ROOT, "%.1f", v);
    }

    private static String seconds(Duration d) {
        return String.format(Locale.ROOT, "%.1f", d.toMillis() / 1000.0);
    }
}
