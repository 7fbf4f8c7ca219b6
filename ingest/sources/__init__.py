"""Where files come from: `files` (folders, single files and .zip archives walked into
`SourceFile`s, with sidecars and `.kbignore`) and `archives` (the one archive-safety survey
every zip passes before any entry is read). A new source (a synced wiki, a Git repository)
is a module here that yields `SourceFile`s and `Failure`s.
"""
