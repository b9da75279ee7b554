"""Risk share workbooks: the only part of ``risk_share`` that touches ``.xlsx`` files.

- :mod:`risk_share.excel.agreement_schema`: what each key of an agreement workbook holds;
- :mod:`risk_share.excel.agreement_workbook`: agreement (TOML tables) ↔ agreement workbook,
  and its ``plan_lines`` sheet;
- :mod:`risk_share.excel.settlement_workbook`: a settlement's working (rates per line, the
  pool by band, caps), written by :mod:`risk_share.excel.settlement_sheets` as live formulas;
- :mod:`risk_share.excel.templates`: generates ``workbooks/risk_share_agreement.xlsx``.

They build on the generic kit in :mod:`capitation.excel` (guard, read, input
sheets, the model workbook writer, patch, tables).
"""
