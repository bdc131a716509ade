-- utf8.lua — a module (or script) named like a standard library: require
-- 'utf8' must still give the library, never this file.
error('utf8.lua was loaded in place of the utf8 library')
