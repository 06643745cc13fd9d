# Sourced, not run: selects a JDK >= 21 for the build when the default java is older.
# Order: $JAVA_HOME if it is >= 21, then `java` on PATH, then the newest JDK under /usr/lib/jvm.

flotilla_java_major() {
  # Prints the major version of the java binary $1, or 0.
  "$1" -XshowSettings:properties -version 2>&1 | awk -F'= ' '/java.specification.version/ {print $2; exit}' | cut -d. -f1 || echo 0
}

flotilla_select_jdk() {
  local candidate major
  if [ -n "${JAVA_HOME:-}" ] && [ -x "$JAVA_HOME/bin/java" ]; then
    major=$(flotilla_java_major "$JAVA_HOME/bin/java")
    if [ "${major:-0}" -ge 21 ]; then return 0; fi
  fi
  if command -v java >/dev/null 2>&1; then
    major=$(flotilla_java_major java)
    if [ "${major:-0}" -ge 21 ]; then
      JAVA_HOME=$(dirname "$(dirname "$(readlink -f "$(command -v java)")")")
      export JAVA_HOME
      return 0
    fi
  fi
  for candidate in $(ls -d /usr/lib/jvm/*/ 2>/dev/null | sort -rV); do
    if [ -x "$candidate/bin/java" ] && [ -x "$candidate/bin/javac" ]; then
      major=$(flotilla_java_major "$candidate/bin/java")
      if [ "${major:-0}" -ge 21 ]; then
        JAVA_HOME=${candidate%/}
        export JAVA_HOME
        export PATH="$JAVA_HOME/bin:$PATH"
        return 0
      fi
    fi
  done
  echo "flotilla: no JDK >= 21 found (checked JAVA_HOME, java on PATH and /usr/lib/jvm); install one, e.g. apt-get install openjdk-21-jdk" >&2
  return 1
}

flotilla_select_jdk || exit 1
export PATH="$JAVA_HOME/bin:$PATH"
