// The pages' own words in English and simplified Chinese, and the language they are shown in.
// Only what the pages write is here: titles, snippets, reasons and errors that the API sends are
// shown as they come.
//
// HTML marks its text with data-i18n="key" (the element's text) and data-i18n-placeholder,
// data-i18n-aria-label, data-i18n-title (attributes); modules build text with t(key, params),
// or through el()'s `i18n` attributes (api.js), which mark the element the same way. Marked
// elements are translated again when the language changes, so a switch keeps the page's state.
// Parameters are written {name}; a key with a ".one" variant uses it when params.n is 1.

export const en = {
  "site.brand": "Training knowledge base",
  "site.skip": "Skip to content",
  "site.pages": "Pages",
  "site.signedInAs": "Signed in as ",
  "site.key.admin": "admin key",
  "site.key.organiser": "organiser key",
  "site.key.employee": "employee key",
  "site.signOut": "Sign out",
  "site.switchLanguage": "Show these pages in Chinese",
  "site.loading": "Loading…",
  "site.show": "Show",
  "site.serviceAnswered": "The service answered {status}.",
  "page.search": "Search",
  "page.learning": "My learning",
  "page.organiser": "Organiser",
  "page.graph": "Knowledge graph",
  "title.search": "Search · Training knowledge base",
  "title.document": "Document · Training knowledge base",
  "title.documentOf": "{title} · Training knowledge base",
  "title.learning": "My learning · Training knowledge base",
  "title.organiser": "Organiser · Training knowledge base",
  "title.signin": "Sign in · Training knowledge base",
  "field.type": "Type",
  "field.team": "Team",
  "field.course": "Course",
  "field.module": "Module",
  "field.skill": "Skill",
  "field.skills": "Skills",
  "field.author": "Author",
  "field.date": "Date",
  "field.visibleTo": "Visible to",
  "field.source": "Source",
  "type.markdown": "Document",
  "type.notebook": "Notebook",
  "type.transcript": "Transcript",
  "type.text": "Text",
  "type.slides": "Slides",
  "type.pdf": "PDF",
  "type.word": "Word document",
  "type.webpage": "Web page",
  "type.chat": "Chat log",

  "search.heading": "Search the training material",
  "search.query": "Search for",
  "search.queryExample": "e.g. the model keeps favouring the majority label",
  "search.anyType": "Any type",
  "search.anyTeam": "any team",
  "search.anyCourse": "any course",
  "search.anySkill": "any skill",
  "search.submit": "Search",
  "search.results": "Results",
  "search.more": "More results",
  "search.searching": "Searching…",
  "search.loadingMore": "Loading more…",
  "search.found": "{n} results for “{q}”.",
  "search.found.one": "{n} result for “{q}”.",
  "search.none": "No results for “{q}”. Try other words or fewer filters.",
  "search.pending": "{n} documents still being indexed for meaning: until then they are found by their words.",
  "search.pending.one": "{n} document still being indexed for meaning: until then it is found by its words.",
  "search.empty": "Type some words to search for.",
  "search.didYouMean": "Did you mean ",
  "search.didYouMeanEnd": "?",
  "suggest.label": "Suggestions",
  "suggest.hint": "Suggestions appear as you type: arrow keys to choose, Enter to search, Escape to close.",
  "suggest.kind.term": "term",
  "suggest.kind.skill": "skill",
  "suggest.kind.course": "course",
  "suggest.kind.module": "module",
  "suggest.kind.title": "document",
  "suggest.kind.query": "searched before",
  "search.by": " by {author}",
  "place.notebook": "Notebook",
  "place.transcript": "Transcript at",
  "place.markdown": "Section",
  "place.text": "Text",
  "place.other": "At",
  "place.start": "start",

  "doc.back": "← Back to search",
  "doc.loading": "Loading the document…",
  "doc.cell.markdown": "Markdown",
  "doc.cell.code": "Code",
  "doc.cell.output": "Output",
  "doc.yourHit": "Your search hit",
  "doc.openedAt": "Opened at {place}.",
  "doc.noId": "No document named: open one from the search results.",
  "doc.notFound": "This document does not exist, or you may not see it.",

  "learning.heading": "My learning",
  "learning.headingOf": "Learning of {employee}",
  "learning.employee": "Employee id",
  "learning.gaps": "Skill gaps",
  "learning.next": "Next module",
  "learning.planHeading": "A plan for your hours",
  "learning.hours": "Hours available",
  "learning.makePlan": "Make a plan",
  "learning.materials": "Recommended materials",
  "learning.people": "People to ask",
  "learning.noGaps": "No gaps: every skill is at its target.",
  "learning.levels": "level {current} of target {target} · weight ×{weight} · weighted gap {gap}",
  "learning.legendCurrent": "current level (0–5)",
  "learning.legendTarget": "target",
  "learning.gapList": "Skill gaps, largest weighted gap first",
  "learning.totalGap": "Total weighted gap: {total} (team {team}).",
  "learning.markCompleted": "Mark completed",
  "learning.score": "Score",
  "learning.hoursShort": "{hours} h",
  "learning.why": "Why: ",
  "learning.or": "Or: ",
  "learning.noColleague": "No colleague is ahead of you on these skills yet.",
  "learning.colleagueTeam": " ({team}): ",
  "learning.noMaterials": "No materials found for your gaps yet.",
  "learning.rate": "Rate",
  "learning.rateTitle": "Rate “{title}”",
  "learning.forSkill": "For ",
  "learning.planTotals": "{total} of {budget} h; closes {closed} of {before} weighted gap.",
  "learning.needEmployee": "Enter an employee id to see their learning.",
  "learning.recorded": "Recorded: {title} completed. ",
  "learning.recordedNext": "Recorded: {title} completed. Next: {next}.",
  "learning.rated": "Thank you: “{title}” rated {rating} / 5. Recommendations updated.",

  "organiser.heading": "Organiser",
  "organiser.heatHeading": "Weighted skill gaps by team",
  "organiser.teams": "Teams",
  "organiser.teamsHint": "(catalogue ids, separated by commas)",
  "organiser.trainingsHeading": "Trainings that would close the most gap",
  "organiser.trainingsLater": "Shown with the teams above.",
  "organiser.uploadHeading": "Upload write-ups",
  "organiser.files": "Files or .zip archives",
  "organiser.defaultTeam": "Default team",
  "organiser.defaultCourse": "Default course",
  "organiser.visibility": "Only visible to teams",
  "organiser.visibilityHint": "(empty: everyone)",
  "organiser.visibilityExample": "e.g. recsys, nlp",
  "organiser.upload": "Upload",
  "organiser.catalogHeading": "Load the training catalogue",
  "organiser.catalogFiles": "skills.yaml, teams.yaml, courses.yaml, employees.yaml, or one .zip of them",
  "organiser.loadCatalog": "Load catalogue",
  "organiser.teamSummary": "{n} people · total {total}",
  "organiser.teamSummary.one": "{n} person · total {total}",
  "organiser.cellTitle": "{n} short: {names}; weight ×{weight}",
  "organiser.heatRegion": "Heat map of weighted gaps (scrolls sideways)",
  "organiser.heatCaption": "Weighted gap (levels short × skill weight), summed over each team's members",
  "organiser.noTraining": "No training would close a gap for these teams.",
  "organiser.trainingsRegion": "Trainings by team",
  "organiser.training": "Training",
  "organiser.why": "Why",
  "organiser.nameTeams": "Name the teams to compare (their catalogue ids).",
  "organiser.noTeam": "No team to show.",
  "organiser.progress": "Upload progress",
  "organiser.fileCount": " · {done} of {total} files",
  "organiser.fileCount.one": " · {done} of {total} file",
  "organiser.stored": "{stored} stored, {failed} failed.",
  "organiser.file": "File",
  "organiser.result": "Result",
  "organiser.detail": "Detail",
  "organiser.open": "open",
  "organiser.chooseFiles": "Choose the files to upload.",
  "organiser.uploading": "Uploading {n} files…",
  "organiser.uploading.one": "Uploading {n} file…",
  "organiser.fileLabel": "File: ",
  "organiser.entry": "Entry",
  "organiser.whatToFix": "What to fix",
  "organiser.chooseCatalog": "Choose the four catalogue files, or a .zip of them.",
  "organiser.loadingCatalog": "Loading the catalogue…",
  "organiser.catalogLoaded": "Catalogue loaded: {counts}.",
  "organiser.count.skills": "{n} skills",
  "organiser.count.teams": "{n} teams",
  "organiser.count.courses": "{n} courses",
  "organiser.count.modules": "{n} modules",
  "organiser.count.employees": "{n} employees",
  "organiser.listSeparator": ", ",
  "missing.heading": "What the knowledge base is missing",
  "missing.weeks": "Weeks",
  "missing.weeksHint": "(this one included)",
  "missing.summary": "{n} searches in the last {weeks} weeks: {failed} found nothing good, {unopened} had hits nobody opened; documents were opened {opens} times.",
  "missing.summary.one": "{n} search in the last {weeks} weeks: {failed} found nothing good, {unopened} had hits nobody opened; documents were opened {opens} times.",
  "missing.trendHeading": "Searches per week",
  "missing.legendSearches": "searches",
  "missing.legendFailed": "found nothing good",
  "missing.weekBar": "Week of {week}: {n} searches, {failed} found nothing good",
  "missing.weekBar.one": "Week of {week}: {n} search, {failed} found nothing good",
  "missing.weekNumbers": "{n} searches · {failed} found nothing good · {unopened} unopened · {opens} opened",
  "missing.weekNumbers.one": "{n} search · {failed} found nothing good · {unopened} unopened · {opens} opened",
  "missing.topicsHeading": "Searches that found nothing good, by topic",
  "missing.topicsHint": "Nothing good: no hit, or no hit scoring above the calibrated threshold; or hits that nobody opened. Queries about one thing are grouped and named by their commonest words.",
  "missing.topic": "Topic",
  "missing.searches": "Searches",
  "missing.queries": "Queries",
  "missing.noTopics": "No search missed in this period.",
  "missing.reason.no_hits": "no hit",
  "missing.reason.weak_hits": "nothing good",
  "missing.reason.not_opened": "nobody opened a hit",
  "missing.skillsHeading": "Skills with little material",
  "missing.modulesHeading": "Modules with little material",
  "missing.littleHint": "Fewer than {n} documents that everyone may see.",
  "missing.item": "Name",
  "missing.documents": "Documents",
  "missing.filtered": "Searches filtered on it",
  "missing.allCovered": "Every one has at least {n} documents.",
  "missing.noCatalog": "No catalogue loaded: skills and modules are not checked.",
  "missing.unopenedHeading": "Material nobody opened",
  "missing.shown": "shown in {n} searches, never opened",
  "missing.shown.one": "shown in {n} search, never opened",
  "missing.neverShown": "never in search results",
  "missing.noUnopened": "Every document was opened in this period.",
  "missing.more": "…and {n} more.",
  "missing.hidden": "{n} more documents restricted to other teams are not listed.",
  "missing.hidden.one": "{n} more document restricted to other teams is not listed.",
  "job.queued": "Queued",
  "job.running": "Ingesting",
  "job.done": "Done",
  "job.failed": "Failed",
  "job.interrupted": "Interrupted",
  "file.added": "added",
  "file.updated": "updated",
  "file.unchanged": "unchanged",
  "file.failed": "failed",

  "signin.heading": "Sign in",
  "signin.intro": "Use the API key an organiser gave you. It is kept in this browser tab only, and forgotten when you close it.",
  "signin.employee": "Employee id",
  "signin.employeeHint": "(optional: an employee key signs in as its employee; organisers may name one to look at)",
  "signin.employeeExample": "e.g. liam-chen",
  "signin.key": "API key",
  "signin.submit": "Sign in",
  "signin.unknownKey": "That key is not known to the service: check it, or ask an organiser for one.",
  "signin.needKey": "Enter your API key.",
  "signin.checking": "Checking the key…",
  // training cycles (cycles.html)
  "page.cycles": "Cycles",
  "title.cycles": "Training cycles · Training knowledge base",
  "organiser.count.cycles": "{n} cycles",
  "cycles.heading": "Training cycles",
  "cycles.cycle": "Cycle",
  "cycles.exportMd": "Export Markdown",
  "cycles.exportHtml": "Export HTML page",
  "cycles.none": "No cycles yet: add cycles.yaml to the catalogue, or create one through the API (POST /cycles).",
  "cycles.levelsHeading": "Levels per skill, before and after",
  "cycles.distributionHeading": "How many stand at each level",
  "cycles.meritHeading": "Weighted levels gained per participant hour, beside earlier cycles",
  "cycles.surveyHeading": "Survey",
  "cycles.themesHeading": "Comments by theme",
  "cycles.peopleHeading": "Participants",
  "cycles.followHeading": "For follow-up: gained least",
  "cycles.importHeading": "Import results",
  "cycles.importHint": "CSV files as the quiz, exam or survey tool exports them (the columns are in docs/cycles.md, “The CSV files”). A file with any faulty row imports nothing.",
  "cycles.importFiles": "CSV files",
  "cycles.importKind": "They hold",
  "cycles.kind.auto": "Tell by the columns",
  "cycles.kind.assessment": "assessment scores",
  "cycles.kind.survey": "survey answers",
  "cycles.kind.attendance": "attendance",
  "cycles.import": "Import",
  "cycles.chooseFiles": "Choose a cycle and the CSV files to import.",
  "cycles.imported": "{file}: {n} rows of {kind} imported.",
  "cycles.imported.one": "{file}: {n} row of {kind} imported.",
  "cycles.importedBefore": "{file} was imported before; nothing to do.",
  "cycles.file": "File",
  "cycles.where": "Where",
  "cycles.whatToFix": "What to fix",
  "cycles.before": "before",
  "cycles.after": "after",
  "cycles.weightShort": "weight ×{weight}",
  "cycles.meanBefore": "mean level before: {mean}",
  "cycles.meanAfter": "mean level after: {mean}",
  "cycles.atLevel": "{n} people at level {level}",
  "cycles.atLevel.one": "{n} person at level {level}",
  "cycles.levelsChart": "Mean level per skill before and after the cycle",
  "cycles.distributionChart": "Participants at each level per skill, before and after",
  "cycles.meritChart": "Figure of merit of this cycle and the earlier ones",
  "cycles.surveyChart": "Mean survey rating per question",
  "cycles.noResults": "no results yet",
  "cycles.noSkills": "The cycle's modules teach no skill.",
  "cycles.meritNote": "Weighted skill levels gained per participant training hour (skills in model optimisation and algorithm innovation count 1.5, data preprocessing and cleaning 1.0, the rest 0.5, unless the catalogue says otherwise).",
  "cycles.format.lecture": "lecture",
  "cycles.format.hands-on": "hands-on",
  "cycles.format.workshop": "workshop",
  "cycles.format.mixed": "mixed",
  "cycles.format.self-paced": "self-paced",
  "cycles.hoursEach": "{hours} h per participant",
  "cycles.trainers": "trainers: {names}",
  "cycles.modules": "modules: {names}",
  "cycles.figureOfMerit": "figure of merit: weighted levels gained per participant hour",
  "cycles.weightedGain": "weighted skill levels gained, over {hours} participant hours",
  "cycles.completion": "completion: {done} of {n} took the post-assessment",
  "cycles.attendance": "attendance over {n} sessions",
  "cycles.attendance.one": "attendance over {n} session",
  "cycles.passRate": "pass rate (pass mark {mark}): {passed} of {n}",
  "cycles.scores": "mean score, before → after",
  "cycles.surveyMean": "mean survey rating (1-5), {n} responses",
  "cycles.surveyMean.one": "mean survey rating (1-5), {n} response",
  "cycles.responses": "{n} responses ({rate} of participants).",
  "cycles.responses.one": "{n} response ({rate} of participants).",
  "cycles.q.relevance": "The content was relevant to my work",
  "cycles.q.clarity": "The trainer explained things clearly",
  "cycles.q.pace": "The pace was right for me",
  "cycles.q.materials": "The materials and exercises helped me learn",
  "cycles.q.confidence": "I can apply what I learned in my work",
  "cycles.noComments": "No comments.",
  "cycles.commentCount": "({n} comments)",
  "cycles.commentCount.one": "({n} comment)",
  "cycles.person": "Participant",
  "cycles.gainCol": "Weighted gain",
  "cycles.preCol": "Before",
  "cycles.postCol": "After",
  "cycles.passedCol": "Passed",
  "cycles.attendedCol": "Sessions",
  "cycles.yes": "yes",
  "cycles.no": "no",
  "cycles.notAssessed": "–",
  "cycles.nobody": "Nobody to follow up.",
  "cycles.gained": "gained {gain} of {possible} possible weighted levels",
  "cycles.noPost": "took no post-assessment",
  "cycles.postScore": "post score {score}",
  "cycles.postBelow": "post score {score}, below the pass mark",
  "cycles.attendedOf": "attended {n} of {of} sessions",
  "cycles.noSurvey": "no survey answer",
};

export const zh = {
  "site.brand": "培训知识库",
  "site.skip": "跳到正文",
  "site.pages": "页面",
  "site.signedInAs": "当前登录：",
  "site.key.admin": "管理员密钥",
  "site.key.organiser": "组织者密钥",
  "site.key.employee": "员工密钥",
  "site.signOut": "退出登录",
  "site.switchLanguage": "用英文显示页面",
  "site.loading": "加载中…",
  "site.show": "显示",
  "site.serviceAnswered": "服务返回了状态 {status}。",
  "page.search": "搜索",
  "page.learning": "我的学习",
  "page.organiser": "组织者",
  "page.graph": "知识图谱",
  "title.search": "搜索 · 培训知识库",
  "title.document": "文档 · 培训知识库",
  "title.documentOf": "{title} · 培训知识库",
  "title.learning": "我的学习 · 培训知识库",
  "title.organiser": "组织者 · 培训知识库",
  "title.signin": "登录 · 培训知识库",
  "field.type": "类型",
  "field.team": "团队",
  "field.course": "课程",
  "field.module": "模块",
  "field.skill": "技能",
  "field.skills": "技能",
  "field.author": "作者",
  "field.date": "日期",
  "field.visibleTo": "可见范围",
  "field.source": "来源",
  "type.markdown": "文档",
  "type.notebook": "笔记本",
  "type.transcript": "转录稿",
  "type.text": "文本",
  "type.slides": "幻灯片",
  "type.pdf": "PDF",
  "type.word": "Word 文档",
  "type.webpage": "网页",
  "type.chat": "聊天记录",

  "search.heading": "搜索培训资料",
  "search.query": "搜索内容",
  "search.queryExample": "例如：模型总是偏向多数类别",
  "search.anyType": "任意类型",
  "search.anyTeam": "任意团队",
  "search.anyCourse": "任意课程",
  "search.anySkill": "任意技能",
  "search.submit": "搜索",
  "search.results": "结果",
  "search.more": "更多结果",
  "search.searching": "正在搜索…",
  "search.loadingMore": "正在加载更多…",
  "search.found": "“{q}”共有 {n} 条结果。",
  "search.found.one": "“{q}”共有 {n} 条结果。",
  "search.none": "没有找到“{q}”的结果。请换个说法，或减少筛选条件。",
  "search.pending": "还有 {n} 篇文档正在建立语义索引，完成前只能按字词检索到。",
  "search.pending.one": "还有 {n} 篇文档正在建立语义索引，完成前只能按字词检索到。",
  "search.empty": "请输入要搜索的词语。",
  "search.didYouMean": "您是不是要找：",
  "search.didYouMeanEnd": "？",
  "suggest.label": "搜索建议",
  "suggest.hint": "输入时会出现搜索建议：用方向键选择，按回车搜索，按 Esc 关闭。",
  "suggest.kind.term": "术语",
  "suggest.kind.skill": "技能",
  "suggest.kind.course": "课程",
  "suggest.kind.module": "模块",
  "suggest.kind.title": "文档",
  "suggest.kind.query": "曾经搜索过",
  "search.by": " · 作者：{author}",
  "place.notebook": "笔记本",
  "place.transcript": "转录稿时间",
  "place.markdown": "章节",
  "place.text": "文本",
  "place.other": "位置",
  "place.start": "开头",

  "doc.back": "← 返回搜索",
  "doc.loading": "正在加载文档…",
  "doc.cell.markdown": "Markdown",
  "doc.cell.code": "代码",
  "doc.cell.output": "输出",
  "doc.yourHit": "你的搜索命中处",
  "doc.openedAt": "已定位到 {place}。",
  "doc.noId": "没有指定文档：请从搜索结果中打开。",
  "doc.notFound": "该文档不存在，或你无权查看。",

  "learning.heading": "我的学习",
  "learning.headingOf": "{employee} 的学习",
  "learning.employee": "员工 ID",
  "learning.gaps": "技能差距",
  "learning.next": "下一个模块",
  "learning.planHeading": "按你的可用时间制定计划",
  "learning.hours": "可用小时数",
  "learning.makePlan": "制定计划",
  "learning.materials": "推荐资料",
  "learning.people": "可以请教的人",
  "learning.noGaps": "没有差距：每项技能都已达到目标。",
  "learning.levels": "当前 {current} 级，目标 {target} 级 · 权重 ×{weight} · 加权差距 {gap}",
  "learning.legendCurrent": "当前水平（0–5）",
  "learning.legendTarget": "目标",
  "learning.gapList": "技能差距，加权差距最大的在前",
  "learning.totalGap": "总加权差距：{total}（团队 {team}）。",
  "learning.markCompleted": "标记为已完成",
  "learning.score": "得分",
  "learning.hoursShort": "{hours} 小时",
  "learning.why": "原因：",
  "learning.or": "其他选择：",
  "learning.noColleague": "在这些技能上，暂时还没有比你更进一步的同事。",
  "learning.colleagueTeam": "（{team}）：",
  "learning.noMaterials": "暂时没有找到针对你的技能差距的资料。",
  "learning.rate": "评分",
  "learning.rateTitle": "为“{title}”评分",
  "learning.forSkill": "针对技能 ",
  "learning.planTotals": "共 {total} / {budget} 小时；可缩小加权差距 {closed}（原为 {before}）。",
  "learning.needEmployee": "请输入员工 ID，以查看其学习情况。",
  "learning.recorded": "已记录：{title} 已完成。",
  "learning.recordedNext": "已记录：{title} 已完成。下一个：{next}。",
  "learning.rated": "谢谢：已为“{title}”评 {rating} / 5 分。推荐已更新。",

  "organiser.heading": "组织者",
  "organiser.heatHeading": "各团队的加权技能差距",
  "organiser.teams": "团队",
  "organiser.teamsHint": "（目录 ID，用逗号分隔）",
  "organiser.trainingsHeading": "最能缩小差距的培训",
  "organiser.trainingsLater": "与上方的团队一起显示。",
  "organiser.uploadHeading": "上传资料",
  "organiser.files": "文件或 .zip 压缩包",
  "organiser.defaultTeam": "默认团队",
  "organiser.defaultCourse": "默认课程",
  "organiser.visibility": "仅对以下团队可见",
  "organiser.visibilityHint": "（留空：所有人可见）",
  "organiser.visibilityExample": "例如：recsys, nlp",
  "organiser.upload": "上传",
  "organiser.catalogHeading": "加载培训目录",
  "organiser.catalogFiles": "skills.yaml、teams.yaml、courses.yaml、employees.yaml，或包含它们的一个 .zip",
  "organiser.loadCatalog": "加载目录",
  "organiser.teamSummary": "{n} 人 · 合计 {total}",
  "organiser.teamSummary.one": "{n} 人 · 合计 {total}",
  "organiser.cellTitle": "{n} 人未达标：{names}；权重 ×{weight}",
  "organiser.heatRegion": "加权差距热力图（可横向滚动）",
  "organiser.heatCaption": "加权差距（欠缺的级数 × 技能权重），按团队成员求和",
  "organiser.noTraining": "没有能为这些团队缩小差距的培训。",
  "organiser.trainingsRegion": "各团队的培训",
  "organiser.training": "培训",
  "organiser.why": "原因",
  "organiser.nameTeams": "请填写要比较的团队（目录 ID）。",
  "organiser.noTeam": "没有可显示的团队。",
  "organiser.progress": "上传进度",
  "organiser.fileCount": " · 已处理 {done} / {total} 个文件",
  "organiser.fileCount.one": " · 已处理 {done} / {total} 个文件",
  "organiser.stored": "已存储 {stored} 个，失败 {failed} 个。",
  "organiser.file": "文件",
  "organiser.result": "结果",
  "organiser.detail": "详情",
  "organiser.open": "打开",
  "organiser.chooseFiles": "请选择要上传的文件。",
  "organiser.uploading": "正在上传 {n} 个文件…",
  "organiser.uploading.one": "正在上传 {n} 个文件…",
  "organiser.fileLabel": "文件：",
  "organiser.entry": "条目",
  "organiser.whatToFix": "如何修改",
  "organiser.chooseCatalog": "请选择四个目录文件，或包含它们的一个 .zip。",
  "organiser.loadingCatalog": "正在加载目录…",
  "organiser.catalogLoaded": "目录已加载：{counts}。",
  "organiser.count.skills": "{n} 项技能",
  "organiser.count.teams": "{n} 个团队",
  "organiser.count.courses": "{n} 门课程",
  "organiser.count.modules": "{n} 个模块",
  "organiser.count.employees": "{n} 名员工",
  "organiser.listSeparator": "，",
  "missing.heading": "知识库缺少什么",
  "missing.weeks": "周数",
  "missing.weeksHint": "（含本周）",
  "missing.summary": "最近 {weeks} 周共 {n} 次搜索：{failed} 次没有找到好的结果，{unopened} 次的结果无人打开；文档共被打开 {opens} 次。",
  "missing.summary.one": "最近 {weeks} 周共 {n} 次搜索：{failed} 次没有找到好的结果，{unopened} 次的结果无人打开；文档共被打开 {opens} 次。",
  "missing.trendHeading": "每周搜索",
  "missing.legendSearches": "搜索",
  "missing.legendFailed": "没有找到好的结果",
  "missing.weekBar": "{week} 这一周：{n} 次搜索，{failed} 次没有找到好的结果",
  "missing.weekBar.one": "{week} 这一周：{n} 次搜索，{failed} 次没有找到好的结果",
  "missing.weekNumbers": "{n} 次搜索 · {failed} 次没有好结果 · {unopened} 次无人打开 · 打开 {opens} 次",
  "missing.weekNumbers.one": "{n} 次搜索 · {failed} 次没有好结果 · {unopened} 次无人打开 · 打开 {opens} 次",
  "missing.topicsHeading": "没有找到好结果的搜索（按主题）",
  "missing.topicsHint": "没有好结果：没有命中，或没有命中的得分高于校准过的阈值；或者命中结果无人打开。同一主题的查询归为一组，以其中最常见的词命名。",
  "missing.topic": "主题",
  "missing.searches": "搜索次数",
  "missing.queries": "查询",
  "missing.noTopics": "这段时间内没有失败的搜索。",
  "missing.reason.no_hits": "没有命中",
  "missing.reason.weak_hits": "没有好的结果",
  "missing.reason.not_opened": "命中结果无人打开",
  "missing.skillsHeading": "资料很少的技能",
  "missing.modulesHeading": "资料很少的模块",
  "missing.littleHint": "所有人可见的文档少于 {n} 篇。",
  "missing.item": "名称",
  "missing.documents": "文档",
  "missing.filtered": "按它筛选的搜索",
  "missing.allCovered": "每一项都至少有 {n} 篇文档。",
  "missing.noCatalog": "尚未加载目录：未检查技能和模块。",
  "missing.unopenedHeading": "无人打开的资料",
  "missing.shown": "出现在 {n} 次搜索结果中，但从未被打开",
  "missing.shown.one": "出现在 {n} 次搜索结果中，但从未被打开",
  "missing.neverShown": "从未出现在搜索结果中",
  "missing.noUnopened": "这段时间内每篇文档都有人打开过。",
  "missing.more": "……另有 {n} 篇。",
  "missing.hidden": "另有 {n} 篇仅限其他团队查看的文档未列出。",
  "missing.hidden.one": "另有 {n} 篇仅限其他团队查看的文档未列出。",
  "job.queued": "排队中",
  "job.running": "正在导入",
  "job.done": "完成",
  "job.failed": "失败",
  "job.interrupted": "已中断",
  "file.added": "已添加",
  "file.updated": "已更新",
  "file.unchanged": "未变化",
  "file.failed": "失败",

  "signin.heading": "登录",
  "signin.intro": "请使用组织者给你的 API 密钥。它只保存在当前浏览器标签页中，关闭标签页后即被清除。",
  "signin.employee": "员工 ID",
  "signin.employeeHint": "（可选：员工密钥会以该员工身份登录；组织者可以填写要查看的员工）",
  "signin.employeeExample": "例如：liam-chen",
  "signin.key": "API 密钥",
  "signin.submit": "登录",
  "signin.unknownKey": "服务不认识这个密钥：请检查一下，或向组织者申请一个。",
  "signin.needKey": "请输入你的 API 密钥。",
  "signin.checking": "正在验证密钥…",
  // training cycles (cycles.html)
  "page.cycles": "培训周期",
  "title.cycles": "培训周期 · 培训知识库",
  "organiser.count.cycles": "{n} 个培训周期",
  "cycles.heading": "培训周期",
  "cycles.cycle": "周期",
  "cycles.exportMd": "导出 Markdown",
  "cycles.exportHtml": "导出 HTML 页面",
  "cycles.none": "还没有培训周期：在目录中加入 cycles.yaml，或通过 API 创建（POST /cycles）。",
  "cycles.levelsHeading": "各技能培训前后的水平",
  "cycles.distributionHeading": "各水平的人数",
  "cycles.meritHeading": "每参训小时获得的加权技能水平，与以往周期对比",
  "cycles.surveyHeading": "问卷",
  "cycles.themesHeading": "按主题归类的意见",
  "cycles.peopleHeading": "参训人员",
  "cycles.followHeading": "需要跟进：提升最少的人",
  "cycles.importHeading": "导入结果",
  "cycles.importHint": "上传测验、考试或问卷工具导出的 CSV 文件（各列的说明见 docs/cycles.md 的“The CSV files”一节）。文件中只要有一行有误，就不会导入任何内容。",
  "cycles.importFiles": "CSV 文件",
  "cycles.importKind": "文件内容",
  "cycles.kind.auto": "根据列名判断",
  "cycles.kind.assessment": "测评成绩",
  "cycles.kind.survey": "问卷答案",
  "cycles.kind.attendance": "出勤",
  "cycles.import": "导入",
  "cycles.chooseFiles": "请选择一个周期和要导入的 CSV 文件。",
  "cycles.imported": "{file}：已导入 {n} 行{kind}。",
  "cycles.imported.one": "{file}：已导入 {n} 行{kind}。",
  "cycles.importedBefore": "{file} 之前已导入过，无需再导入。",
  "cycles.file": "文件",
  "cycles.where": "位置",
  "cycles.whatToFix": "需要修改的地方",
  "cycles.before": "培训前",
  "cycles.after": "培训后",
  "cycles.weightShort": "权重 ×{weight}",
  "cycles.meanBefore": "培训前平均水平：{mean}",
  "cycles.meanAfter": "培训后平均水平：{mean}",
  "cycles.atLevel": "{n} 人处于 {level} 级",
  "cycles.atLevel.one": "{n} 人处于 {level} 级",
  "cycles.levelsChart": "周期前后各技能的平均水平",
  "cycles.distributionChart": "周期前后各技能每个水平的人数",
  "cycles.meritChart": "本周期及以往周期的成效指标",
  "cycles.surveyChart": "问卷各题的平均评分",
  "cycles.noResults": "尚无结果",
  "cycles.noSkills": "该周期的模块不涉及任何技能。",
  "cycles.meritNote": "每参训小时获得的加权技能水平（模型优化和算法创新类技能权重 1.5，数据预处理和清洗 1.0，其余 0.5，目录另有规定的除外）。",
  "cycles.format.lecture": "讲座",
  "cycles.format.hands-on": "实操",
  "cycles.format.workshop": "工作坊",
  "cycles.format.mixed": "混合",
  "cycles.format.self-paced": "自主学习",
  "cycles.hoursEach": "每人 {hours} 小时",
  "cycles.trainers": "讲师：{names}",
  "cycles.modules": "模块：{names}",
  "cycles.figureOfMerit": "成效指标：每参训小时获得的加权水平",
  "cycles.weightedGain": "获得的加权技能水平，共 {hours} 参训小时",
  "cycles.completion": "完成率：{n} 人中 {done} 人参加了培训后测评",
  "cycles.attendance": "{n} 次课的出勤率",
  "cycles.attendance.one": "{n} 次课的出勤率",
  "cycles.passRate": "通过率（及格线 {mark}）：{n} 人中 {passed} 人",
  "cycles.scores": "平均成绩，培训前 → 培训后",
  "cycles.surveyMean": "问卷平均评分（1-5），{n} 份回答",
  "cycles.surveyMean.one": "问卷平均评分（1-5），{n} 份回答",
  "cycles.responses": "{n} 份回答（参训人员的 {rate}）。",
  "cycles.responses.one": "{n} 份回答（参训人员的 {rate}）。",
  "cycles.q.relevance": "内容与我的工作相关",
  "cycles.q.clarity": "讲师讲解清楚",
  "cycles.q.pace": "节奏适合我",
  "cycles.q.materials": "资料和练习对学习有帮助",
  "cycles.q.confidence": "我能把所学用到工作中",
  "cycles.noComments": "没有意见。",
  "cycles.commentCount": "（{n} 条意见）",
  "cycles.commentCount.one": "（{n} 条意见）",
  "cycles.person": "参训人员",
  "cycles.gainCol": "加权提升",
  "cycles.preCol": "培训前",
  "cycles.postCol": "培训后",
  "cycles.passedCol": "通过",
  "cycles.attendedCol": "出勤",
  "cycles.yes": "是",
  "cycles.no": "否",
  "cycles.notAssessed": "–",
  "cycles.nobody": "没有需要跟进的人。",
  "cycles.gained": "提升了 {gain} 个加权水平（最多可提升 {possible}）",
  "cycles.noPost": "未参加培训后测评",
  "cycles.postScore": "培训后成绩 {score}",
  "cycles.postBelow": "培训后成绩 {score}，低于及格线",
  "cycles.attendedOf": "出勤 {n}/{of} 次",
  "cycles.noSurvey": "未填写问卷",
};

export const TABLES = { en, zh };
export const LANGUAGES = Object.keys(TABLES);
const STORE = "kb.language";
const HTML_LANG = { en: "en", zh: "zh-CN" };
const NAMES = { en: "English", zh: "中文" }; // each in its own language, never translated
const ATTRIBUTES = ["placeholder", "aria-label", "title"];

let chosen = null; // the language in use, decided on first use

/** The first of the browser's languages that the pages speak (any zh-* is zh), else en. */
export function browserLanguage(languages = navigator.languages || [navigator.language]) {
  for (const tag of languages || []) {
    const base = String(tag).toLowerCase().split(/[-_]/)[0];
    if (base in TABLES) return base;
  }
  return "en";
}

function saved() {
  try {
    return localStorage.getItem(STORE);
  } catch {
    return null; // storage refused (privacy settings): the browser's language, every time
  }
}

/** "en" or "zh": the one chosen with the switch (kept in localStorage), else the browser's. */
export function language() {
  if (!chosen) {
    const stored = saved();
    chosen = LANGUAGES.includes(stored) ? stored : browserLanguage();
  }
  return chosen;
}

/** The text for `key` in the current language, with {name} replaced from `params`. */
export function t(key, params = {}) {
  const table = TABLES[language()];
  const form = params.n === 1 && `${key}.one` in table ? `${key}.one` : key;
  const text = table[form] ?? en[form] ?? key;
  return text.replace(/\{(\w+)\}/g, (whole, name) => (name in params ? String(params[name]) : whole));
}

/** Whether the pages have words for `key` (for values such as a file's status). */
export function has(key) {
  return key in en;
}

function paramsOf(node) {
  try {
    return JSON.parse(node.getAttribute("data-i18n-params") || "{}");
  } catch {
    return {};
  }
}

function keepParams(node, params) {
  if (params && Object.keys(params).length) node.setAttribute("data-i18n-params", JSON.stringify(params));
  else node.removeAttribute("data-i18n-params");
}

/** Give `node` the text of `key` and mark it, so that a change of language translates it again. */
export function localize(node, key, params) {
  node.setAttribute("data-i18n", key);
  keepParams(node, params);
  node.textContent = t(key, params);
  return node;
}

/** The same for an attribute (placeholder, aria-label, title). */
export function localizeAttribute(node, attribute, key, params) {
  node.setAttribute(`data-i18n-${attribute}`, key);
  if (params) keepParams(node, params);
  node.setAttribute(attribute, t(key, params || paramsOf(node)));
  return node;
}

/** Plain text from elsewhere (the API, the user) in place of a marked text: no longer translated. */
export function unlocalize(node) {
  node.removeAttribute("data-i18n");
  node.removeAttribute("data-i18n-params");
  return node;
}

/** Translate every marked text and attribute under `root`, and say which language the page is in. */
export function translate(root = document) {
  document.documentElement.lang = HTML_LANG[language()];
  for (const node of root.querySelectorAll("[data-i18n]")) {
    node.textContent = t(node.getAttribute("data-i18n"), paramsOf(node));
  }
  for (const attribute of ATTRIBUTES) {
    for (const node of root.querySelectorAll(`[data-i18n-${attribute}]`)) {
      node.setAttribute(attribute, t(node.getAttribute(`data-i18n-${attribute}`), paramsOf(node)));
    }
  }
  for (const button of root.querySelectorAll("button.lang-switch")) labelSwitch(button);
}

/** Use `code` from now on, here and on every page of this site, and translate this page. */
export function setLanguage(code) {
  if (!LANGUAGES.includes(code)) throw new Error(`no language ${code}: one of ${LANGUAGES.join(", ")}`);
  chosen = code;
  try {
    localStorage.setItem(STORE, code);
  } catch {
    // not remembered; this page still changes
  }
  translate();
  window.dispatchEvent(new CustomEvent("kb:language", { detail: code }));
}

const other = () => LANGUAGES.find((code) => code !== language());

function labelSwitch(button) {
  const target = other();
  const name = document.createElement("span");
  name.lang = HTML_LANG[target]; // read out in its own language
  name.textContent = NAMES[target];
  button.replaceChildren(name);
  button.title = t("site.switchLanguage");
}

/** The header's switch: a button named after the other language, in that language. */
export function languageSwitch() {
  const button = document.createElement("button");
  button.type = "button";
  button.className = "secondary lang-switch";
  button.addEventListener("click", () => setLanguage(other()));
  labelSwitch(button);
  return button;
}
