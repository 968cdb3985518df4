# packaging.cmake: what `cmake --install` puts where, and CPack's Debian package of it
# (scripts/package.sh builds it: `cpack -G DEB` in a Release build with Debian's
# hardening flags). The files for dpkg are in packaging/deb/; the man page comes from
# the real --help through help2man.
include(GNUInstallDirs)

# The package's version: the project's, unless a test builds a newer one to upgrade to
# (scripts/package.sh always passes it, empty for the project's).
set(STORYGATE_DEB_VERSION "" CACHE STRING "Version of the Debian package (empty: the project's)")
if(STORYGATE_DEB_VERSION)
  set(deb_version ${STORYGATE_DEB_VERSION})
else()
  set(deb_version ${PROJECT_VERSION})
endif()
set(doc_dir share/doc/storygate)
set(examples_dir ${doc_dir}/examples)

install(TARGETS storygate RUNTIME DESTINATION bin)

# Debian 12 keeps packaged units in /lib/systemd/system (usr-merge moved only files, not
# the paths packages use). Installed, not enabled: postinst leaves that to the operator.
install(FILES deploy/systemd/storygate.service DESTINATION /lib/systemd/system)

# /etc/storygate: both files are conffiles (packaging/deb/conffiles), so dpkg keeps the
# operator's edits on upgrade. The environment file will hold the database password and
# the API credentials: root only (systemd reads it as root before the service starts).
install(FILES mappings/demo.yaml DESTINATION /etc/storygate RENAME mapping.yaml
        PERMISSIONS OWNER_READ OWNER_WRITE GROUP_READ WORLD_READ)
install(FILES deploy/systemd/storygate.env.example DESTINATION /etc/storygate RENAME storygate.env
        PERMISSIONS OWNER_READ OWNER_WRITE)

# Documentation and examples. Nothing under /usr/share/doc is executable (Debian policy):
# the deploy scripts are copied as plain files to read or copy out.
install(FILES README.md packaging/deb/copyright DESTINATION ${doc_dir})
install(DIRECTORY mappings/ DESTINATION ${examples_dir}/mappings FILES_MATCHING PATTERN "*.yaml")
install(DIRECTORY deploy/ DESTINATION ${examples_dir}/deploy
        FILE_PERMISSIONS OWNER_READ OWNER_WRITE GROUP_READ WORLD_READ)

# Debian wants changelog and man page gzip'ed with no time stamp in them (-n), at -9.
find_program(GZIP_PROGRAM gzip REQUIRED)
set(STORYGATE_CHANGELOG_VERSION ${deb_version})
configure_file(packaging/deb/changelog.in ${CMAKE_BINARY_DIR}/packaging/changelog @ONLY)
add_custom_command(OUTPUT ${CMAKE_BINARY_DIR}/packaging/changelog.gz
  COMMAND ${GZIP_PROGRAM} -9nc ${CMAKE_BINARY_DIR}/packaging/changelog > ${CMAKE_BINARY_DIR}/packaging/changelog.gz
  DEPENDS ${CMAKE_BINARY_DIR}/packaging/changelog)

find_program(HELP2MAN_PROGRAM help2man)
if(HELP2MAN_PROGRAM)
  # storygate(1): the sections of --help, with the FILES, ENVIRONMENT and EXAMPLES the
  # README tells operators (packaging/storygate.h2m).
  add_custom_command(OUTPUT ${CMAKE_BINARY_DIR}/packaging/storygate.1.gz
    COMMAND ${HELP2MAN_PROGRAM} --no-info --section=1 --source=storygate
            --include=${PROJECT_SOURCE_DIR}/packaging/storygate.h2m
            --output=${CMAKE_BINARY_DIR}/packaging/storygate.1 $<TARGET_FILE:storygate>
    COMMAND ${GZIP_PROGRAM} -9nf ${CMAKE_BINARY_DIR}/packaging/storygate.1
    DEPENDS storygate ${PROJECT_SOURCE_DIR}/packaging/storygate.h2m)
  add_custom_target(package_docs ALL DEPENDS ${CMAKE_BINARY_DIR}/packaging/storygate.1.gz
                                             ${CMAKE_BINARY_DIR}/packaging/changelog.gz)
  install(FILES ${CMAKE_BINARY_DIR}/packaging/storygate.1.gz DESTINATION ${CMAKE_INSTALL_MANDIR}/man1)
  install(FILES ${CMAKE_BINARY_DIR}/packaging/changelog.gz DESTINATION ${doc_dir})
endif()

# --- CPack: storygate_<version>_amd64.deb -----------------------------------------------
set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME storygate)
set(CPACK_PACKAGE_VERSION ${deb_version})
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_STRIP_FILES ON)
set(CPACK_PACKAGE_CONTACT "storygate dev <dev@storygate.invalid>")
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)  # storygate_0.2.0_amd64.deb
set(CPACK_DEBIAN_PACKAGE_VERSION ${deb_version})
set(CPACK_DEBIAN_PACKAGE_SECTION net)
set(CPACK_DEBIAN_PACKAGE_PRIORITY optional)
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "DailyStory customer API over an existing PostgreSQL database")
# The extended description; CPack puts the summary above it and indents each line.
set(CPACK_DEBIAN_PACKAGE_DESCRIPTION
"storygate serves DailyStory's Basic Integration Pattern REST API (one customer
by id, and customers changed since a point in time, page by page) from a
partner's legacy PostgreSQL database, described by a YAML mapping file. It
reads with a read-only role, checks the mapping against the database at
start-up and on reload, and exports Prometheus metrics.

The package installs storygate.service without enabling it: edit
/etc/storygate/storygate.env and /etc/storygate/mapping.yaml, then run
systemctl enable --now storygate.")
# Libraries: computed by dpkg-shlibdeps from what the binary links. By hand only what no
# ELF header shows: tzdata (mappings may convert legacy text date-times in a named time
# zone, read from /usr/share/zoneinfo) and procps (/bin/kill, the unit's ExecReload=;
# not in a minimal Debian, as the install test found). deb-systemd-helper, which the
# maintainer scripts call, is in init-system-helpers: essential in Debian 12.
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
set(CPACK_DEBIAN_PACKAGE_DEPENDS "tzdata, procps")
# TLS to the database usually checks the server against the system's CA list.
set(CPACK_DEBIAN_PACKAGE_RECOMMENDS "ca-certificates")
set(CPACK_DEBIAN_PACKAGE_CONTROL_EXTRA
  ${PROJECT_SOURCE_DIR}/packaging/deb/conffiles
  ${PROJECT_SOURCE_DIR}/packaging/deb/postinst
  ${PROJECT_SOURCE_DIR}/packaging/deb/prerm
  ${PROJECT_SOURCE_DIR}/packaging/deb/postrm)
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION ON)
include(CPack)
