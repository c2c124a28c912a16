from arielml.targets.boards import BOARDS, Board, CoreType, MemoryRegion, check_cores, get_board

__all__ = ["BOARDS", "Board", "CoreType", "MemoryRegion", "check_cores", "get_board"]
