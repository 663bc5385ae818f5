/**
 * The built-in device catalog, written in the `.sense` language itself so that built-in
 * and custom devices go through one path (parse, check, lower) and "go to definition"
 * on `target snapdragon800` opens this text. It is loaded as the document
 * `sense-builtin:/devices.sense`.
 *
 * Every figure has its source in a comment on its line or in the processor's `source`.
 * "Sustained" compute is peak x a utilisation that the comment states; peak figures come
 * from the vendor documents named. Figures marked "estimate" are ours: they are the
 * ones calibration (`sense calibrate`, device profiles from a real phone) replaces.
 * Dates are the publication years of the sources. Catalog compiled 2026-11-24.
 */
export const BUILTIN_DEVICES_URI = 'sense-builtin:/devices.sense';

export const BUILTIN_DEVICES_SOURCE = `// Sense Studio built-in devices (read-only). Sources per figure; see language/builtin-devices.ts.

// Qualcomm Snapdragon 800 (MSM8974), the SoC of DeepEar and DeepX (Nexus 5, Galaxy S4 LTE-A).
device snapdragon800 {
  source "Qualcomm Snapdragon 800 product brief (2013); Lane et al., DeepEar (UbiComp 2015) and DeepX (IPSN 2016)"
  processor cpu {
    // Krait 400, 4 cores at 2.26 GHz, NEON 4 fp32 MAC/cycle/core: 36 GMAC/s peak; 1/6 sustained (estimate).
    compute 6 GMAC/s
    memory 1536 MB          // of the 2 GB LPDDR3 shared with the OS (estimate)
    bandwidth 12.8 GB/s     // LPDDR3-800 dual channel, product brief (2013)
    power 1800 mW           // 4 busy Krait cores, estimate from published MSM8974 rail measurements
    idle 25 mW              // awake, cores clock-gated between work (estimate)
    sleep 1 mW              // cores power-collapsed while the SoC suspends; the rest of suspend is the device baseline (estimate)
    wake 3 mJ               // resume from suspend and back: about 10 ms at about 300 mW (estimate)
    wakelatency 10 ms       // resume from suspend (estimate)
    tail 100 ms             // awake after its work before the kernel suspends again (estimate)
    sampling 76 mW          // always-listening on the application processor: about 20 mA (CEVA figures, Esteve, SemiWiki 2013) at 3.8 V
    overhead 0.01 ms        // op dispatch in a native runtime (estimate)
    transfer 160 pJ/B       // DRAM access energy, Horowitz, ISSCC 2014 (640 pJ per 32-bit read)
    source "Qualcomm Snapdragon 800 product brief (2013); Horowitz, Computing's energy problem, ISSCC (2014)"
  }
  processor gpu {
    // Adreno 330: 129.6 GFLOPS fp32 peak = 64.8 GMAC/s; 40% sustained for DNN layers (estimate).
    compute 26 GMAC/s
    memory 1024 MB
    bandwidth 12.8 GB/s
    power 1500 mW           // estimate
    idle 10 mW              // estimate
    sleep 0.5 mW            // power-collapsed (estimate)
    wake 1 mJ               // estimate
    wakelatency 1 ms        // estimate
    tail 50 ms              // the driver's idle timeout before power collapse (estimate)
    overhead 0.25 ms        // OpenCL kernel launch (estimate)
    transfer 160 pJ/B
    supports dense, conv1d, conv2d, maxpool, avgpool, batchnorm, dropout, flatten, relu, sigmoid, tanh, softmax, gelu, elu, leakyrelu, linear
    source "Qualcomm Adreno 330 specifications (2013)"
  }
  processor dsp {
    // Hexagon QDSP6 V5A at 800 MHz, 3 hardware threads; fp emulated: 1.6 GMAC/s sustained (estimate).
    compute 1.6 GMAC/s
    memory 16 MB            // DSP-side heap available to a sensing app (estimate)
    bandwidth 4 GB/s
    power 180 mW            // DeepEar reports the DSP at a fraction of the CPU's power (estimate)
    idle 2 mW               // estimate
    sleep 0.5 mW            // estimate
    wake 0.05 mJ            // estimate
    wakelatency 0.5 ms      // estimate
    tail 1 ms               // estimate
    sampling 7.6 mW         // always-listening on a DSP core: under 2 mA (CEVA figures, Esteve, SemiWiki 2013) at 3.8 V; Hexagon's own figure is unpublished (estimate after it)
    overhead 0.05 ms        // per-op dispatch inside one offloaded DSP graph (estimate); the FastRPC call is the cpu <-> dsp link latency
    transfer 160 pJ/B
    supports features, dense, conv1d, maxpool, avgpool, batchnorm, dropout, flatten, relu, sigmoid, tanh, softmax, linear
    source "Qualcomm Hexagon DSP SDK documentation (2013); Lane et al., DeepEar (UbiComp 2015)"
  }
  link cpu <-> gpu { bandwidth 6 GB/s  latency 0.05 ms }
  link cpu <-> dsp { bandwidth 1 GB/s  latency 0.2 ms }   // one FastRPC call per tensor moved, about 0.2 ms (estimate, Hexagon SDK FastRPC documentation)
  link gpu <-> dsp { bandwidth 1 GB/s  latency 0.3 ms }
  battery 2300 mAh at 3.8 V // Nexus 5 battery (LG, 2013); DeepEar assumes the same 2300 mAh
  baseline 20 mW            // phone suspended, screen off, radio paging (estimate: about 5 mA at 3.8 V)
  default cpu
}

// NVIDIA Tegra K1 (Jetson TK1), the AlexNet platform of DeepX.
device tegrak1 {
  source "NVIDIA Tegra K1 whitepaper (2014); Jetson TK1 developer kit specifications (2014); Lane et al., DeepX (IPSN 2016)"
  processor cpu {
    // Cortex-A15 r3, 4 cores at 2.3 GHz, NEON 4 fp32 MAC/cycle/core: 36.8 GMAC/s peak; 1/5 sustained (estimate).
    compute 7.4 GMAC/s
    memory 1536 MB          // of 2 GB DDR3L shared (Jetson TK1 specifications)
    bandwidth 14.9 GB/s     // 64-bit LPDDR3/DDR3L-933, whitepaper (2014)
    power 3500 mW           // estimate from Jetson TK1 board measurements
    idle 200 mW             // estimate: the CPU rail of an idle Jetson TK1 with its governor at the lowest operating point
    // No sleep, wake, tail or sampling: the Jetson TK1 is a mains-powered development board without a
    // battery, so its processors are taken never to sleep (sleep = idle) and battery figures are not reported.
    overhead 0.01 ms
    transfer 160 pJ/B       // Horowitz, ISSCC (2014)
    source "NVIDIA Tegra K1 whitepaper (2014)"
  }
  processor gpu {
    // Kepler GK20A, 192 CUDA cores at 852 MHz: 327 GFLOPS = 163 GMAC/s peak; 50% sustained with cuDNN (estimate).
    compute 80 GMAC/s
    memory 1536 MB
    bandwidth 14.9 GB/s
    power 5500 mW           // estimate from Jetson TK1 board measurements under GPU load
    idle 150 mW             // estimate: GK20A clock-gated but powered (never power-collapsed on this board, see the CPU)
    overhead 0.05 ms        // CUDA kernel launch
    transfer 160 pJ/B
    supports dense, conv1d, conv2d, maxpool, avgpool, batchnorm, dropout, flatten, gru, lstm, relu, sigmoid, tanh, softmax, gelu, elu, leakyrelu, linear
    source "NVIDIA Tegra K1 whitepaper (2014)"
  }
  link cpu <-> gpu { bandwidth 7 GB/s  latency 0.02 ms }
  default cpu
}

// Intel Edison: dual-core Atom plus a Quark microcontroller.
device edison {
  source "Intel Edison compute module hardware guide (2014)"
  processor cpu {
    // Atom (Silvermont) 2 cores at 500 MHz, SSE 4 fp32 MAC/cycle: 4 GMAC/s peak; 1/4 sustained (estimate).
    compute 1 GMAC/s
    memory 768 MB           // of 1 GB LPDDR3
    bandwidth 6.4 GB/s      // LPDDR3-800 32-bit (estimate)
    power 600 mW            // hardware guide, active dual-core (estimate)
    idle 35 mW              // awake with the OS running: the module's 35 mW standby with Wi-Fi on (Intel Edison product brief, 2014), taken for the awake Atom (estimate)
    sleep 0 mW              // suspended: counted in the module's 13 mW standby, the device baseline below
    wake 4 mJ               // resume from suspend-to-RAM and back: about 20 ms at about 200 mW (estimate, as the Snapdragon 800's CPU scaled to a 2-core Atom)
    wakelatency 20 ms       // Linux resume on a 500 MHz Atom (estimate)
    tail 100 ms             // awake after its work before the kernel suspends again (estimate, the same autosleep policy as the phones)
    sampling 35 mW          // the Atom awake to take the sensor's samples: its idle power, since it has no low-power sensing mode (estimate)
    overhead 0.02 ms
    transfer 160 pJ/B
    source "Intel Edison compute module hardware guide (2014)"
  }
  processor mcu {
    // Quark at 100 MHz, no FPU: about 0.2 fp32 MAC/cycle in software (estimate).
    compute 0.02 GMAC/s
    memory 192 KB           // the MCU's SRAM, hardware guide (2014)
    bandwidth 0.4 GB/s
    power 25 mW             // estimate
    idle 0.5 mW             // estimate: a 100 MHz Quark core halted with its clock running
    sleep 0 mW              // clock-gated: counted in the module's 13 mW standby, the device baseline below
    wake 0.0005 mJ          // restart of the core's clock: about 20 us at 25 mW (estimate)
    wakelatency 0.02 ms     // estimate
    tail 0 ms               // a bare-metal loop halts as soon as its work is done
    sampling 2 mW           // the MCU polling a sensor on I2C/ADC between windows, awake at a low duty cycle (estimate: idle plus the bus and sensor at about 0.5 mA at 3 V)
    overhead 0.005 ms       // per-op call inside the MCU's loop (estimate); IPC from the Atom is the link latency
    transfer 50 pJ/B        // on-chip SRAM (estimate)
    supports features, dense, maxpool, avgpool, batchnorm, dropout, flatten, relu, sigmoid, tanh, softmax, linear
    source "Intel Edison compute module hardware guide (2014)"
  }
  link cpu <-> mcu { bandwidth 50 MB/s  latency 0.1 ms }
  battery 1000 mAh at 3.7 V // a typical LiPo for Edison wearables (estimate)
  baseline 13 mW            // the module in standby without radios (Intel Edison product brief, 2014)
  default cpu
}

// A current phone SoC with an NPU, and a cloud server reached over 5G.
device snapdragon8gen3 {
  source "Qualcomm Snapdragon 8 Gen 3 product brief (2023)"
  processor cpu {
    // Kryo: 1x Cortex-X4 3.3 GHz + 5x A720 + 2x A520; ~300 GFLOPS fp32 peak; 1/5 sustained (estimate).
    compute 30 GMAC/s
    memory 4 GB
    bandwidth 77 GB/s       // LPDDR5X-4800 4x16-bit, product brief (2023)
    power 3000 mW           // estimate
    idle 20 mW              // awake, cores clock-gated between work (estimate)
    sleep 1 mW              // cores power-collapsed while the SoC suspends (estimate, as the Snapdragon 800)
    wake 2 mJ               // resume from suspend and back: about 5 ms at about 400 mW (estimate)
    wakelatency 5 ms        // resume from suspend (estimate)
    tail 100 ms             // awake after its work before the kernel suspends again (estimate, the same autosleep policy as the Snapdragon 800)
    sampling 39 mW          // always-listening on the application processor: about 10 mA at 3.87 V (estimate: half the 20 mA CEVA gave for 2013 application processors, Esteve, SemiWiki 2013; no figure is published for this SoC)
    overhead 0.005 ms
    transfer 40 pJ/B        // LPDDR5X about 5 pJ/bit (estimate)
    source "Qualcomm Snapdragon 8 Gen 3 product brief (2023)"
  }
  processor gpu {
    // Adreno 750: about 2.8 TFLOPS fp32 peak; 20% sustained for batch-1 DNN layers (estimate).
    compute 280 GMAC/s
    memory 4 GB
    bandwidth 77 GB/s
    power 3500 mW           // estimate
    idle 10 mW              // estimate
    sleep 0.5 mW            // power-collapsed (estimate, as the Adreno 330)
    wake 1 mJ               // estimate, as the Adreno 330
    wakelatency 1 ms        // estimate, as the Adreno 330
    tail 50 ms              // the driver's idle timeout before power collapse (estimate, as the Adreno 330)
    overhead 0.1 ms
    transfer 40 pJ/B
    supports dense, conv1d, conv2d, maxpool, avgpool, batchnorm, dropout, flatten, gru, lstm, relu, sigmoid, tanh, softmax, gelu, elu, leakyrelu, linear
    source "Qualcomm Snapdragon 8 Gen 3 product brief (2023)"
  }
  processor npu {
    // Hexagon NPU: 45 TOPS int8 (Qualcomm, 2023); fp16 execution of float models at about 1 TMAC/s sustained (estimate).
    compute 1 TMAC/s
    memory 512 MB           // estimate
    bandwidth 77 GB/s
    power 1200 mW           // estimate
    idle 5 mW               // estimate
    sleep 0.5 mW            // power-collapsed (estimate)
    wake 0.5 mJ             // estimate
    wakelatency 1 ms        // estimate
    tail 10 ms              // estimate
    // The always-on sensing island (Qualcomm Sensing Hub) sits beside the Hexagon NPU and can keep the
    // microphone stream while the CPU sleeps; it is modelled as the NPU's sampling figure.
    sampling 3.9 mW         // about 1 mA at 3.87 V (estimate: the Snapdragon 800 DSP's under-2 mA CEVA-class figure, halved for a 4 nm island; Qualcomm publishes none)
    overhead 0.2 ms         // QNN graph dispatch (estimate)
    transfer 40 pJ/B
    supports dense, conv1d, conv2d, maxpool, avgpool, batchnorm, dropout, flatten, relu, sigmoid, tanh, softmax, gelu, linear
    source "Qualcomm Snapdragon 8 Gen 3 product brief (2023); Qualcomm AI Engine Direct (QNN) documentation"
  }
  processor cloud {
    // A server GPU shared by many users: 10 TMAC/s per request (estimate). Its power is not the phone's.
    compute 10 TMAC/s
    memory 16 GB
    bandwidth 900 GB/s
    power 0 mW              // the phone pays only for the radio (see the link)
    idle 0 mW               // remote: the power model charges the phone nothing for it
    overhead 1 ms           // request handling on the server (estimate)
    transfer 0 pJ/B
    supports dense, conv1d, conv2d, maxpool, avgpool, batchnorm, dropout, flatten, gru, lstm, relu, sigmoid, tanh, softmax, gelu, elu, leakyrelu, linear
    source "estimate"
  }
  link cpu <-> gpu { bandwidth 30 GB/s  latency 0.02 ms }
  link cpu <-> npu { bandwidth 30 GB/s  latency 0.05 ms }
  link gpu <-> npu { bandwidth 30 GB/s  latency 0.05 ms }
  // 5G uplink: 50 Mbps, 40 ms RTT, 1.5 W radio while transmitting (estimates after Huang et al., MobiSys 2012 for LTE).
  link cpu <-> cloud { bandwidth 50 Mbps  rtt 40 ms  power 1500 mW }
  battery 5000 mAh at 3.87 V // typical 2024 flagship (estimate)
  baseline 20 mW            // phone suspended, screen off, 5G paging (estimate: about 5 mA at 3.87 V, as the Snapdragon 800)
  default cpu
}

// A Cortex-M4F microcontroller (Nordic nRF52840) in a wearable.
device nrf52840 {
  source "Nordic nRF52840 product specification v1.7 (2021); ARM CMSIS-NN (Lai et al., 2018)"
  processor mcu {
    // Cortex-M4F at 64 MHz; fp32 about 0.25 MAC/cycle with the FPU (estimate after CMSIS-NN).
    compute 16 MMAC/s
    memory 256 KB           // RAM, product specification
    bandwidth 0.25 GB/s     // 32-bit AHB at 64 MHz
    power 10 mW             // 3.3 mA at 3 V running from flash with DC/DC, product specification
    idle 0.005 mW           // System ON idle, 1.5 uA at 3 V, product specification
    // System ON idle keeps RAM and wakes in microseconds, so it is both the idle and the sleep state
    // (System OFF loses RAM): sleep = idle, no wake energy, no tail.
    sleep 0.005 mW          // System ON idle, as above
    wakelatency 0.003 ms    // System ON idle to CPU running, about 3 us (product specification, t_IDLE2CPU)
    sampling 1.5 mW         // PDM microphone through EasyDMA with the CPU asleep: the PDM peripheral and its clock plus a low-power PDM MEMS microphone, about 0.5 mA at 3 V (estimate)
    overhead 0.001 ms
    transfer 10 pJ/B        // on-chip SRAM (estimate)
    supports features, dense, conv1d, conv2d, maxpool, avgpool, batchnorm, dropout, flatten, relu, sigmoid, tanh, softmax, linear
    source "Nordic nRF52840 product specification v1.7 (2021)"
  }
  battery 225 mAh at 3 V    // CR2032 coin cell
  default mcu
}

// This machine, before calibration: \`sense calibrate\` measures it and saves a device profile.
device host {
  source "Sense Studio DESIGN.md, facts measured on this machine kind (2026): a 5.9 M MAC MLP runs in 0.99 ms on ONNX Runtime"
  processor cpu {
    compute 6 GMAC/s        // 5.9 M MAC in 0.99 ms, batch 1, ONNX Runtime (measured 2026)
    memory 16 GB
    bandwidth 20 GB/s       // estimate
    power 15000 mW          // estimate for a 2-core server slice
    idle 2000 mW            // estimate
    // No sleep, wake, tail or sampling: a server slice on mains power never suspends (sleep = idle) and has no battery.
    overhead 0.005 ms       // estimate
    transfer 100 pJ/B       // estimate
    source "measured on this machine kind (2026); power figures are estimates"
  }
  default cpu
}
`;
