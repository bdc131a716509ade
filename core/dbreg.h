/*
 * dbreg.h — the databases this user has made, so a missing or emptied one
 * is not silently started afresh (issue 16, class 1).
 *
 * `gonghui run` creates a database when its folder does not exist or is
 * empty. If that folder held a database before (a script truncated
 * data.mdb, someone deleted the folder), starting afresh would hide the
 * loss: the next run would see an empty registry and go on. So every
 * database `run` opens is noted (its real path) in a small list in the
 * user's state folder ($GONGHUI_STATE_DIR, else $XDG_STATE_HOME/gonghui,
 * else ~/.local/state/gonghui, file `databases`), and `run` refuses to
 * create one at a noted path unless told to with --new-db.
 *
 * The list is only a guard: when it cannot be read or written, nothing is
 * refused.
 */
#ifndef GH_DBREG_H
#define GH_DBREG_H

/* 1 if the database folder `dir` needs creating (missing, no data.mdb, or
 * one too short to hold a database). */
int dbreg_needs_create(const char *dir);

/* 1 if `dir` (as given) is in the list. */
int dbreg_known(const char *dir);

/* Adds `dir` (its real path) to the list if it is not there. Silent on failure. */
void dbreg_note(const char *dir);

/* The list's file (borrowed, static), for messages. */
const char *dbreg_file(void);

#endif
