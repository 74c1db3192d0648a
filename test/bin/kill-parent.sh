# Sourced by the stand-in tools. With KVMCTL_TEST_KILL_PARENT=TOOL:before or TOOL:after (a comma
# list; only the kill tests set it) the stand-in SIGKILLs the kvmctl process that ran it, as a
# crash of kvmctl at that instant would: `before` stops the tool too, so the change never happens;
# `after` kills once the change is done, before kvmctl can record it.
kill_parent_at() {
  case ",${KVMCTL_TEST_KILL_PARENT:-}," in
    *",$1,"*) kill -9 "$PPID" 2>/dev/null || true; return 0 ;;
  esac
  return 1
}
