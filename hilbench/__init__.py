"""hilbench: hardware-in-the-loop test and benchmark harness for int8 ML on microcontrollers.

Pipeline, one package per stage; data flows one way:
    model -> reference -> (codegen -> build -> targets) -> compare -> report
"""

__version__ = "0.1.0"
