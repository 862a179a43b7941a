"""``python -m homogeneity.degree_engine``: print the table of ops with degree rules
(the Markdown table of ``docs/api/rules.md``)."""

from homogeneity.degree_engine.op_rules import rule_table_markdown

if __name__ == "__main__":
    print(rule_table_markdown(), end="")
