# bash completion for fetchmany(1)                         -*- shell-script -*-
#
# Installed as bash-completion/completions/fetchmany. Self-contained: it
# needs neither the bash-completion package's helpers nor any setting, so
# it also works when sourced by hand (". data/fetchmany.bash").
#
# Keep the option lists in step with src/opts.c and `fetchmany --help`;
# tests/unit/test_completion.c fails when a long option is missing here or
# in data/_fetchmany.

_fetchmany()
{
    local cur prev opt i
    cur=${COMP_WORDS[COMP_CWORD]}
    prev=
    ((COMP_CWORD > 0)) && prev=${COMP_WORDS[COMP_CWORD - 1]}
    COMPREPLY=()

    # Options that take no value.
    local flags='--content-disposition --continue --no-clobber
        --timestamping --sha256 --require-digest --dry-run --mirror
        --fail-fast --compressed
        --netrc --insecure --https-only --check --fsync --xattr --json --quiet
        --no-config --help --version'
    # Options that take a value (as the next word or after '=').
    local valued='--shard --output-dir --jobs --per-host --split
        --min-split-size --limit-rate --threads
        --connect-timeout --timeout --stall-timeout --retries --retry-on
        --backoff --backoff-max --header --user-agent --max-redirs --max-filesize
        --netrc-file --cacert --proxy --noproxy --cookie --cookie-jar
        --progress --config --checksums'
    local shorts='-o -x -c -n -N -j -t -r -H -A -k -q -h -V'

    # After a bare "--" every word is a LIST or URL.
    for ((i = 1; i < COMP_CWORD; i++)); do
        if [[ ${COMP_WORDS[i]} == -- ]]; then
            compopt -o filenames 2>/dev/null
            mapfile -t COMPREPLY < <(compgen -f -- "$cur")
            return 0
        fi
    done

    # Which option's value is being completed, if any. Three spellings:
    # "--opt VALUE", "--opt=VALUE" as one word, and "--opt = VALUE" as
    # bash splits it when '=' is in COMP_WORDBREAKS (the default).
    local prefix=
    opt=
    if [[ $cur == --*=* ]]; then
        opt=${cur%%=*}
        prefix=$opt=
        cur=${cur#*=}
    elif [[ $cur == = && $prev == --* ]]; then
        opt=$prev
        cur=
    elif [[ $prev == = ]] && ((COMP_CWORD >= 2)) &&
        [[ ${COMP_WORDS[COMP_CWORD - 2]} == --* ]]; then
        opt=${COMP_WORDS[COMP_CWORD - 2]}
    else
        case $prev in
        -[ojtrHA] | --*) opt=$prev ;;
        esac
    fi

    case $opt in
    -o | --output-dir)
        compopt -o filenames 2>/dev/null
        mapfile -t COMPREPLY < <(compgen -d -- "$cur")
        ;;
    --cacert | --netrc-file | --config | --cookie | --cookie-jar | --checksums)
        compopt -o filenames 2>/dev/null
        mapfile -t COMPREPLY < <(compgen -f -- "$cur")
        ;;
    --progress)
        mapfile -t COMPREPLY < <(compgen -W 'auto always never' -- "$cur")
        ;;
    -j | -t | -r | -H | -A | --shard | --jobs | --per-host | --split | \
        --min-split-size | --limit-rate | --threads | \
        --connect-timeout | --timeout | --stall-timeout | --retries | \
        --retry-on | --backoff | --backoff-max | --header | --user-agent | --max-redirs | \
        --max-filesize)
        # A number, a size, a list of statuses, a header or a string:
        # nothing to offer.
        ;;
    *)
        opt=
        ;;
    esac
    if [[ -n $opt ]]; then
        if [[ -n $prefix ]]; then
            for i in "${!COMPREPLY[@]}"; do
                COMPREPLY[i]=$prefix${COMPREPLY[i]}
            done
        fi
        return 0
    fi

    case $cur in
    --*)
        mapfile -t COMPREPLY < <(compgen -W "$flags $valued" -- "$cur")
        ;;
    -*)
        mapfile -t COMPREPLY < <(compgen -W "$shorts $flags $valued" -- "$cur")
        ;;
    *)
        # A LIST file (or a URL, which nothing can guess).
        compopt -o filenames 2>/dev/null
        mapfile -t COMPREPLY < <(compgen -f -- "$cur")
        ;;
    esac
    return 0
} &&
    complete -F _fetchmany fetchmany

# ex: filetype=sh
