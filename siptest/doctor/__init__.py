"""`siptest doctor`: the network triage a technician does, ending in one verdict.

    run_doctor(request, knowledge, register, call) -> DoctorRun (report, events)
    choose(findings) -> Choice            the verdict chain, pure (verdict.py)

model.py holds what each step found; probes.py the bounded UDP/TCP/TLS probes;
nat.py the NAT and SIP ALG signs in the registrar's answer; runner.py the order.
"""

from __future__ import annotations
