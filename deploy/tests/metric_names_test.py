#!/usr/bin/python3
"""Tests of metric_names.py: the PromQL name extraction and the docs/exposition parsers."""
import os
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import metric_names as mn  # noqa: E402


class PromqlNamesTest(unittest.TestCase):
    def test_aggregation_with_grouping_and_grafana_variables(self):
        expr = ('histogram_quantile(0.99, sum by (le, model) '
                '(rate(trm_request_duration_seconds_bucket{method="Solve", model=~"$model"}[$__rate_interval])))')
        self.assertEqual(mn.promql_metric_names(expr), {"trm_request_duration_seconds_bucket"})

    def test_binary_expression_with_on_and_strings_holding_names(self):
        expr = ('min_over_time(trm_queue_depth[10m]) > 0 and on (job, instance) '
                'sum(rate(trm_requests_total{code=~"not_a_metric|OK"}[5m])) / up{job="x"} > 1e-3')
        self.assertEqual(mn.promql_metric_names(expr), {"trm_queue_depth", "trm_requests_total", "up"})

    def test_label_values_variable_query(self):
        self.assertEqual(mn.promql_metric_names("label_values(trm_model_info, model)"),
                         {"trm_model_info"})

    def test_bare_metric_and_keywords(self):
        self.assertEqual(mn.promql_metric_names("trm_health_serving == bool 0"),
                         {"trm_health_serving"})


class ResolveTest(unittest.TestCase):
    KNOWN = {"trm_act_steps": "histogram", "trm_requests_total": "counter", "trm_queue_depth": "gauge"}

    def test_histogram_series_resolve_to_their_family(self):
        for s in ("trm_act_steps_bucket", "trm_act_steps_sum", "trm_act_steps_count"):
            self.assertEqual(mn.resolve(s, self.KNOWN), "trm_act_steps")

    def test_suffix_of_a_non_histogram_does_not_resolve(self):
        self.assertIsNone(mn.resolve("trm_queue_depth_count", self.KNOWN))
        self.assertIsNone(mn.resolve("trm_unknown", self.KNOWN))


class ParsersTest(unittest.TestCase):
    def test_docs_table(self):
        with tempfile.NamedTemporaryFile("w", suffix=".md", delete=False) as f:
            f.write("| metric | type |\n| --- | --- |\n| `a_total` | counter |\n"
                    "| `b_bytes`, `c_seconds` | gauge/counter |\nnot a table `d`\n")
        try:
            self.assertEqual(mn.documented_metrics(f.name),
                             {"a_total": "counter", "b_bytes": "gauge/counter", "c_seconds": "gauge/counter"})
        finally:
            os.unlink(f.name)

    def test_exposition_type_lines(self):
        text = ("# HELP trm_act_steps Steps.\n# TYPE trm_act_steps histogram\n"
                'trm_act_steps_bucket{le="1"} 0\n# TYPE trm_queue_depth gauge\ntrm_queue_depth 3\n')
        self.assertEqual(mn.exported_families(text),
                         {"trm_act_steps": "histogram", "trm_queue_depth": "gauge"})


class MainTest(unittest.TestCase):
    def test_undocumented_name_fails(self):
        root = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")
        with tempfile.TemporaryDirectory() as d:
            with open(os.path.join(d, "x.json"), "w") as f:
                f.write('{"panels": [{"title": "t", "targets": [{"refId": "A", "expr": "rate(trm_bogus_total[1m])"}]}]}')
            rc = mn.main(["--docs", os.path.join(root, "docs", "metrics.md"), "--dashboards", d])
            self.assertEqual(rc, 1)

    def test_bad_json_fails(self):
        root = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")
        with tempfile.TemporaryDirectory() as d:
            with open(os.path.join(d, "x.json"), "w") as f:
                f.write('{"panels": [')
            self.assertEqual(mn.main(["--docs", os.path.join(root, "docs", "metrics.md"), "--dashboards", d]), 1)


if __name__ == "__main__":
    unittest.main()
