{
  "targets": [
    {
      "target_name": "probe_guest",
      "type": "none",
      "actions": [
        {
          "action_name": "assemble_probe_guest",
          "inputs": ["native/guest/probe.S", "native/guest/probe_abi.h", "native/guest/build.sh"],
          "outputs": ["<(PRODUCT_DIR)/probe.bin"],
          "action": ["sh", "native/guest/build.sh", "<(PRODUCT_DIR)/probe.bin"]
        }
      ]
    },
    {
      "target_name": "kvmctl_native",
      "dependencies": ["probe_guest"],
      "sources": [
        "native/addon.cc",
        "native/errors.cc",
        "native/host_probe.cc",
        "native/host_read.cc",
        "native/probe_vm.cc",
        "native/vm_types.cc",
        "native/kvm/memory.cc",
        "native/kvm/system.cc",
        "native/kvm/vcpu.cc",
        "native/kvm/vm.cc",
        "native/vmm/probe_bus.cc",
        "native/vmm/runner.cc"
      ],
      "include_dirs": ["<!(node -p \"require('node-addon-api').include_dir\")", "native"],
      "defines": ["NAPI_VERSION=8", "NAPI_CPP_EXCEPTIONS"],
      "cflags_cc": ["-std=c++17", "-fexceptions", "-Wall", "-Wextra", "-O2"],
      "cflags_cc!": ["-fno-exceptions"],
      "libraries": ["-lpthread"]
    }
  ]
}
