# Read by ctest (tests/CMakeLists.txt): the integration tests discovered for
# every major are integration tests too.
foreach(test IN LISTS storygate_every_major_tests)
  set_tests_properties("${test}" PROPERTIES LABELS "integration;every-major")
endforeach()
