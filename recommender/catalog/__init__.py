"""The training catalogue: typed values (`types`: skills, teams, courses, modules, employees,
cycles), the validation rules that report every fault at once (`validate`), and reading a
catalogue folder (`loading`). Everything else in the recommender works on a built `Catalog`.
"""
