# SPDX-License-Identifier: MIT
# Tests of deploy/: certificates, images and the pod harness. Included from
# tests/integration/CMakeLists.txt (k8s_manifests, the kustomize builds, is
# registered there).

# deploy/certs/make-certs.sh: identities in the CN, keys apart, CA reused.
add_test(NAME deploy_certs COMMAND ${CMAKE_CURRENT_SOURCE_DIR}/test_certs.sh)
set_tests_properties(deploy_certs PROPERTIES LABELS integration TIMEOUT 60 SKIP_RETURN_CODE 77)

# The images (deploy/images/build.sh --harness) and the pod harness end to
# end over mutual TLS with identity: pods up, declared capabilities only,
# the six pods' agents connected and none refused, chaosctl orchestrate of
# the three scenarios in the controller's pod (deploy_pods), or in node mode
# a partition of one chain node cutting exactly its pairs (deploy_pods_node);
# pods down leaves nothing, the root netns untouched. Slow (a first image
# build takes minutes): label "pods", not in the integration label.
add_test(NAME deploy_pods COMMAND ${CMAKE_CURRENT_SOURCE_DIR}/test_pods.sh)
add_test(NAME deploy_pods_node COMMAND ${CMAKE_CURRENT_SOURCE_DIR}/test_pods.sh node)
set_tests_properties(deploy_pods deploy_pods_node PROPERTIES LABELS pods TIMEOUT 1500
                     SKIP_RETURN_CODE 77 RUN_SERIAL TRUE)
