"""Texts for where runs execute: a scheduler's (Slurm's) reasons for keeping a job waiting.

A queued run handed to Slurm carries Slurm's own reason code (RunView.pending_reason); front ends
show `backend.pending.<code>` when the catalogue has it, else `backend.pending.other` with the code.
"""

from __future__ import annotations

TEXTS = {
    "en": {
        "backend.pending.Resources": "waiting for free resources on the cluster",
        "backend.pending.Priority": "jobs with a higher priority start first",
        "backend.pending.Dependency": "waiting for another job to finish",
        "backend.pending.BeginTime": "waiting for its start time",
        "backend.pending.JobHeldUser": "held by its owner",
        "backend.pending.JobHeldAdmin": "held by a cluster administrator",
        "backend.pending.ReqNodeNotAvail": "the nodes it needs are unavailable",
        "backend.pending.PartitionTimeLimit": "its time limit is longer than the partition allows",
        "backend.pending.QOSMaxJobsPerUserLimit": "you already have as many jobs running as your QOS allows",
        "backend.pending.QOSMaxGRESPerUser": "you already use as many GPUs as your QOS allows",
        "backend.pending.AssocMaxJobsLimit": "your account already has as many jobs running as it may",
        "backend.pending.other": "waiting in the Slurm queue ({reason})",
        "backend.slurm_queue": "Slurm queue position {position}: {reason}",
    },
    "ko": {
        "backend.pending.Resources": "클러스터에 자원이 비기를 기다리는 중",
        "backend.pending.Priority": "우선순위가 더 높은 작업이 먼저 시작돼요",
        "backend.pending.Dependency": "다른 작업이 끝나기를 기다리는 중",
        "backend.pending.BeginTime": "시작 시각을 기다리는 중",
        "backend.pending.JobHeldUser": "작업 소유자가 보류해 두었어요",
        "backend.pending.JobHeldAdmin": "클러스터 관리자가 보류해 두었어요",
        "backend.pending.ReqNodeNotAvail": "필요한 노드를 지금 쓸 수 없어요",
        "backend.pending.PartitionTimeLimit": "시간 제한이 파티션에서 허용하는 것보다 길어요",
        "backend.pending.QOSMaxJobsPerUserLimit": "QOS 한도만큼 작업이 이미 실행 중이에요",
        "backend.pending.QOSMaxGRESPerUser": "QOS 한도만큼 GPU를 이미 쓰고 있어요",
        "backend.pending.AssocMaxJobsLimit": "계정에 허용된 만큼의 작업이 이미 실행 중이에요",
        "backend.pending.other": "Slurm 대기열에서 기다리는 중 ({reason})",
        "backend.slurm_queue": "Slurm 대기열 {position}번째: {reason}",
    },
}


def pending_reason_key(reason: str) -> str:
    """The catalogue key for a scheduler's reason code (unknown codes share one text)."""
    key = f"backend.pending.{reason}"
    return key if key in TEXTS["en"] else "backend.pending.other"
