# dorset_proto_library(<name> PROTOS <files relative to protos/> [DEPS <libs>] [GRPC])
#
# The one place protobuf and gRPC C++ code is generated. Import paths are the project's
# protos/, the grpc-proto package (grpc/health/v1) and the system protobuf includes.
set(DORSET_PROTO_ROOT ${PROJECT_SOURCE_DIR}/protos)
set(DORSET_GRPC_PROTO_ROOT /usr/share/grpc-proto)
# google/api/annotations.proto and http.proto, from golang-github-grpc-ecosystem-grpc-gateway-dev.
set(DORSET_GOOGLEAPIS_ROOT /usr/share/gocode/src/github.com/grpc-ecosystem/grpc-gateway/third_party/googleapis)
set(DORSET_PROTO_OUT ${PROJECT_BINARY_DIR}/gen)
file(MAKE_DIRECTORY ${DORSET_PROTO_OUT})

function(dorset_proto_library name)
  cmake_parse_arguments(ARG "GRPC" "ROOT" "PROTOS;DEPS" ${ARGN})
  if(NOT ARG_ROOT)
    set(ARG_ROOT ${DORSET_PROTO_ROOT})
  endif()
  set(srcs)
  foreach(proto ${ARG_PROTOS})
    string(REGEX REPLACE "\\.proto$" "" base ${proto})
    set(outs ${DORSET_PROTO_OUT}/${base}.pb.cc ${DORSET_PROTO_OUT}/${base}.pb.h)
    set(plugin_args)
    set(plugin_deps)
    if(ARG_GRPC)
      list(APPEND outs ${DORSET_PROTO_OUT}/${base}.grpc.pb.cc ${DORSET_PROTO_OUT}/${base}.grpc.pb.h)
      set(plugin_args --grpc_out=${DORSET_PROTO_OUT}
          --plugin=protoc-gen-grpc=$<TARGET_FILE:gRPC::grpc_cpp_plugin>)
      set(plugin_deps gRPC::grpc_cpp_plugin)
    endif()
    add_custom_command(
      OUTPUT ${outs}
      COMMAND ${Protobuf_PROTOC_EXECUTABLE}
              -I${ARG_ROOT} -I${DORSET_PROTO_ROOT} -I${DORSET_GRPC_PROTO_ROOT} -I${DORSET_GOOGLEAPIS_ROOT}
              -I${Protobuf_INCLUDE_DIRS}
              --cpp_out=${DORSET_PROTO_OUT} ${plugin_args}
              ${ARG_ROOT}/${proto}
      DEPENDS ${ARG_ROOT}/${proto} ${plugin_deps}
      COMMENT "protoc ${proto}"
      VERBATIM)
    list(APPEND srcs ${outs})
  endforeach()
  add_library(${name} STATIC ${srcs})
  target_include_directories(${name} SYSTEM PUBLIC ${DORSET_PROTO_OUT} ${Protobuf_INCLUDE_DIRS})
  target_link_libraries(${name} PUBLIC protobuf::libprotobuf ${ARG_DEPS})
  if(ARG_GRPC)
    target_link_libraries(${name} PUBLIC gRPC::grpc++)
  endif()
endfunction()
