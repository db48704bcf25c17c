# swim_tests.cmake - CTest checks of `shoal-sim swim` (tests/sim/sim_swim.c),
# driven by check_swim.sh; included from tests/sim/CMakeLists.txt.
#   false positives: 100 nodes, 5% loss, 3 kills, 1000 periods, 3 seeds
#   detection: 10 and 100 nodes within 4 * max(1, log10 n) + 6 periods
#   heal: a 60 s 50/50 partition of 100 nodes heals within 60 periods
#   scale: 1000 nodes send within 20% of 50 nodes' datagrams per node per
#          period, and detect within the bound (about 20 s of CPU)
#   replay: the same seed twice gives byte-identical output
# `check_swim.sh big SIM` times the 1000-node run; a benchmark, not a test.
set(_swim_check sh ${CMAKE_CURRENT_LIST_DIR}/check_swim.sh)
set(_swim_sim $<TARGET_FILE:shoal-sim>)
add_test(NAME sim_swim_false_positives
  COMMAND ${_swim_check} fp ${_swim_sim} 1 3)
add_test(NAME sim_swim_detect_10
  COMMAND ${_swim_check} detect ${_swim_sim} 10 1 5)
add_test(NAME sim_swim_detect_100
  COMMAND ${_swim_check} detect ${_swim_sim} 100 1 3)
add_test(NAME sim_swim_heal
  COMMAND ${_swim_check} heal ${_swim_sim} 100 1 5)
add_test(NAME sim_swim_scale
  COMMAND ${_swim_check} scale ${_swim_sim} 1)
add_test(NAME sim_swim_replay
  COMMAND ${_swim_check} replay ${_swim_sim} 7)
set_tests_properties(sim_swim_false_positives sim_swim_detect_10
  sim_swim_detect_100 sim_swim_heal sim_swim_scale sim_swim_replay
  PROPERTIES LABELS sim TIMEOUT 600)
