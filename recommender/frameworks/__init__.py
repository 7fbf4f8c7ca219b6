"""Skills frameworks (ESCO, the company's own...): reading one, keeping it, mapping the
catalogue's skills to its skills, and speaking its terms in answers (docs/frameworks.md).

- `types`: the framework's concepts, the proposed and decided mappings, the import error.
- `reading`: ESCO's published CSV (skills_<lang>.csv, broaderRelationsSkillPillar.csv,
  skillGroups_<lang>.csv) and the simple CSV (id, label_<lang>..., broader), all or nothing.
- `matching`: proposals by label similarity (both languages, alt labels) and by embedding.
- `terms`: approved mappings -> the framework's label and id beside each catalogue skill in
  a JSON answer (fields added, none renamed).
- `base`, `sqlite`, `postgres`: the `FrameworkStore` contract and its two stores
  (`api.backends` opens the one in use).
"""
