# bash completion for gonghui.
#
# It knows no command or option itself: `gonghui __complete CWORD WORDS...`
# answers from the same table as the help pages and the man page (core/help.c),
# so completion cannot drift from them. A line @file, @dir or @lua asks for
# file names (of *.lua files); a word ending in '=' (a script's parameter) is
# completed without a space after it.
_gonghui() {
    local cur=${COMP_WORDS[COMP_CWORD]} line files="" dirs="" lua="" words=()
    while IFS= read -r line; do
        case $line in
        @file) files=1 ;;
        @dir) dirs=1 ;;
        @lua) lua=1 ;;
        *) words+=("$line") ;;
        esac
    done < <("${COMP_WORDS[0]}" __complete "$COMP_CWORD" "${COMP_WORDS[@]}" 2>/dev/null)
    COMPREPLY=()
    local w
    for w in "${words[@]}"; do
        COMPREPLY+=("$w")
    done
    if [[ -n $files ]]; then
        compopt -o filenames 2>/dev/null
        mapfile -t -O "${#COMPREPLY[@]}" COMPREPLY < <(compgen -f -- "$cur")
    elif [[ -n $dirs ]]; then
        compopt -o filenames 2>/dev/null
        mapfile -t -O "${#COMPREPLY[@]}" COMPREPLY < <(compgen -d -- "$cur")
    elif [[ -n $lua ]]; then
        compopt -o filenames 2>/dev/null
        mapfile -t -O "${#COMPREPLY[@]}" COMPREPLY < <(compgen -d -- "$cur"; compgen -f -X '!*.lua' -- "$cur")
    fi
    if [[ ${#COMPREPLY[@]} -eq 1 && ${COMPREPLY[0]} == *= ]]; then
        compopt -o nospace 2>/dev/null
    fi
}
complete -F _gonghui gonghui
