# GhPlugin.cmake — gh_add_plugin(): builds one native plugin.
#
#   gh_add_plugin(TARGET NAME DIR SOURCES...)
#
# makes DIR/NAME.so from SOURCES as a MODULE library that sees only
# include/gonghui/plugin.h (no core/ headers, no Lua), compiled with the
# project's warnings and -fvisibility=hidden so it exports only the entry
# point marked GH_PLUGIN_EXPORT. Included by the top-level CMakeLists.txt;
# used by plugins/ (DIR <build>/plugins, the default plugin folder) and
# tests/plugins/ (their own folder, given to tests with GONGHUI_PLUGIN_PATH).
function(gh_add_plugin target name dir)
  add_library(${target} MODULE ${ARGN})
  set_target_properties(${target} PROPERTIES
    PREFIX ""
    SUFFIX ".so"
    OUTPUT_NAME ${name}
    LIBRARY_OUTPUT_DIRECTORY ${dir}
    C_VISIBILITY_PRESET hidden)
  target_include_directories(${target} PRIVATE ${PROJECT_SOURCE_DIR}/include)
  target_compile_options(${target} PRIVATE ${GH_WARNINGS})
endfunction()
