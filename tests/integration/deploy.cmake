# SPDX-License-Identifier: MIT
# Tests of deploy/: certificates, images and the pod harness. Included from
# tests/integration/CMakeLists.txt (k8s_manifests, the kustomize builds, is
# registered there).

# deploy/certs/make-certs.sh: identities in the CN, keys apart, CA reused.
add_test(NAME deploy_certs COMMAND ${CMAKE_CURRENT_SOURCE_DIR}/test_certs.sh)
set_tests_properties(deploy_certs PROPERTIES LABELS integration TIMEOUT 60 SKIP_RETURN_CODE 77)
