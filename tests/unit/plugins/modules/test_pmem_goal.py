from ansible_collections.pmem.optane.plugins.modules import pmem_goal
from uthelper import UTHelper

test_module = UTHelper.from_module(pmem_goal, __file__).test
